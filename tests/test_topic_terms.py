"""The hot-topic terms: jieba words without the stop words of 社情民意 writing."""

from __future__ import annotations

import subprocess
import sys

from qiandao_adapters import analysis
from qiandao_adapters.analysis import MinHashAnalyzer, stop_words, terms


def test_the_shipped_stop_words_cover_the_formulas_of_submissions() -> None:
    stop = stop_words()
    assert len(stop) >= 150
    formulas = {"关于", "建议", "问题", "进一步", "加强", "工作", "相关", "部门", "我市", "目前"}
    assert formulas | {"存在", "情况", "有关", "推进"} <= stop
    assert all(len(word) >= 2 and not word.startswith("#") for word in stop)


def test_terms_drop_stop_words_single_characters_numbers_and_punctuation() -> None:
    found = MinHashAnalyzer().terms(
        "关于进一步加强我市老旧小区电梯加装工作的建议",
        "目前存在资金不足的问题：全市2026年有1,200台电梯待加装，5G基站也缺。",
    )
    assert found["电梯"] == 2 and found["加装"] == 2
    assert {"老旧", "小区", "5g", "基站"} <= set(found)
    assert not set(found) & stop_words()
    assert all(len(word) >= 2 for word in found)
    assert not any(word.isdigit() for word in found)
    assert not any(ch in word for word in found for ch in "，。：,.")
    assert terms(["，。！", "", "12 34"]) == {}


def test_jieba_loads_once_per_process() -> None:
    terms(["电梯加装"])
    first = analysis._tokenizer()
    terms(["渔港避风"])
    assert analysis._tokenizer() is first


def test_importing_the_library_and_the_analyzer_leaves_jieba_unloaded() -> None:
    code = (
        "import sys, qiandao, qiandao_adapters.analysis\n"
        "assert 'jieba' not in sys.modules, 'jieba loaded on import'\n"
        "assert 'datasketch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
