"""Make ``similar_pairs.jsonl``: the labelled set of the similar-items quality test.

Run ``python -m tests.data.make_similar_pairs`` (deterministic: seed 13) to rewrite the file.

Each line is a pair of items ``{"label": "duplicate" | "different", "topic", "category",
"issue", "place", "a": {"id", "title", "body"}, "b": {...}}``:

- ``duplicate``: the same matter (one issue in one place) written by two people: the sentences
  reworded with synonyms, reordered, some dropped or added, different figures, another title;
- ``different`` (hard negatives): the same topic and category, another matter (another issue of
  the topic, in the same place half of the time).

:func:`distractors` gives more items of other matters, for mixing the pairs into a corpus, and
:func:`corpus` any number of items for a latency benchmark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import attrs

__all__ = ["PAIRS_FILE", "Doc", "corpus", "distractors", "load_pairs", "make_pairs"]

PAIRS_FILE = Path(__file__).with_name("similar_pairs.jsonl")
SEED = 13

Doc = dict[str, str]

PLACES = (
    "定海区昌国街道",
    "定海区环南街道",
    "定海区盐仓街道",
    "定海区白泉镇",
    "定海区金塘镇",
    "定海区马岙街道",
    "普陀区沈家门街道",
    "普陀区东港街道",
    "普陀区六横镇",
    "普陀区桃花镇",
    "普陀区展茅街道",
    "普陀区朱家尖街道",
    "岱山县高亭镇",
    "岱山县衢山镇",
    "岱山县秀山乡",
    "岱山县长涂镇",
    "嵊泗县菜园镇",
    "嵊泗县洋山镇",
    "嵊泗县枸杞乡",
    "嵊泗县花鸟乡",
    "新城临城街道",
    "新城千岛街道",
)

# topic -> (focus category, issues); an issue: title core, problem sentences, suggestions.
# {p} is the place, {a} {b} {c} figures drawn for each text.
TOPICS: dict[str, tuple[str, list[tuple[str, list[str], list[str]]]]] = {
    "老旧小区加装电梯": (
        "hot_issue",
        [
            (
                "简化老旧小区加装电梯审批流程",
                [
                    "{p}有{a}个建成于上世纪九十年代的老旧小区，多为六层以下住宅，没有电梯",
                    "加装电梯需要规划、住建、市场监管等多个部门审批，材料多、周期长",
                    "一个单元从申请到开工平均要{b}个月，不少居民等不及就放弃了",
                    "低层住户担心采光和噪音，常常不签字，意见难以统一",
                ],
                [
                    "建议推行联合审批，由街道牵头一窗受理，压缩审批时限",
                    "建议出台低层住户补偿指引，由社区组织协商化解分歧",
                ],
            ),
            (
                "加大老旧小区加装电梯资金补贴",
                [
                    "{p}加装一部电梯的费用约{a}万元，按楼层分摊后高层住户每户要出{b}万元",
                    "小区住户多为退休老人，收入不高，一次性筹资压力很大",
                    "现行每台{c}万元的财政补贴与实际造价差距较大",
                    "住房公积金提取用于加装电梯的渠道不畅，手续繁琐",
                ],
                [
                    "建议提高财政补贴标准，并对困难家庭给予额外补助",
                    "建议打通公积金提取渠道，允许子女提取公积金支付父母的分摊费用",
                ],
            ),
            (
                "明确加装电梯后续维保责任",
                [
                    "{p}已加装的{a}部电梯中，有不少出现维保不及时、故障停运的情况",
                    "电梯产权属于全体出资住户，使用管理单位不明确，维保费用收不上来",
                    "物业公司不愿接手，住户自管又缺乏专业能力，安全隐患突出",
                    "去年有{b}部电梯因年检不合格停用，老人上下楼又成了难题",
                ],
                [
                    "建议明确加装电梯的使用管理责任主体，把维保纳入物业服务",
                    "建议设立电梯维保公共基金，由政府引导保险机构参与",
                ],
            ),
        ],
    ),
    "农村生活污水": (
        "hot_issue",
        [
            (
                "加强农村生活污水处理终端运维",
                [
                    "{p}共建有农村生活污水处理终端{a}座，但相当一部分运行不正常",
                    "部分终端设备损坏后长期无人维修，出水水质不达标",
                    "运维经费每年只有{b}万元，第三方运维公司人手不足，巡查流于形式",
                    "村里不清楚终端归谁管，群众反映臭味大也找不到人处理",
                ],
                [
                    "建议建立县乡村三级运维责任制，把终端运维纳入考核",
                    "建议加大运维经费投入，推行在线监测，发现故障及时处置",
                ],
            ),
            (
                "整治农村污水管网破损和雨污混流",
                [
                    "{p}部分村庄的污水管网铺设已有{a}年，管道破损、堵塞现象普遍",
                    "雨水和污水混流，一到雨天终端超负荷运行，污水溢流到路面",
                    "有的农户私自把雨水管接入污水管，管网改造时也没有分开",
                    "去年汛期有{b}个村出现污水外溢，群众意见很大",
                ],
                [
                    "建议开展管网排查修复，实施雨污分流改造",
                    "建议加强接户管规范管理，对私接乱接进行整治",
                ],
            ),
            (
                "解决海岛渔村生活污水直排入海问题",
                [
                    "{p}的渔村依山傍海，居住分散，不少农户的生活污水直接排入海中",
                    "海岛地形复杂，管网铺设成本高，每户接入费用约{a}元",
                    "渔家乐和民宿旺季游客多，污水量成倍增加，近岸海水发黑发臭",
                    "目前全岛纳管率只有{b}%左右，远低于全市平均水平",
                ],
                [
                    "建议因地制宜采用分散式小型处理设施，解决偏远渔村的污水出路",
                    "建议对渔家乐和民宿实行污水排放许可，加强旺季执法检查",
                ],
            ),
        ],
    ),
    "学校周边交通": (
        "hot_issue",
        [
            (
                "缓解学校周边上下学接送拥堵",
                [
                    "{p}的几所中小学集中在一条路上，上下学高峰时段接送车辆排起长队",
                    "家长车辆随意停放，占用机动车道，交通几乎瘫痪",
                    "学校周边没有临时停车区域，高峰时段拥堵长达{a}分钟",
                    "每天有{b}多名学生在车流中穿行，安全隐患很大",
                ],
                [
                    "建议在学校周边设置临时停车泊位和即停即走区域",
                    "建议推行错峰放学，并安排交警和志愿者在高峰时段疏导",
                ],
            ),
            (
                "完善学校周边人行过街设施",
                [
                    "{p}某小学门口的道路车速快，却没有信号灯和人行天桥",
                    "学生只能在车流间穿行过马路，近年来已发生{a}起交通事故",
                    "斑马线标线模糊，减速带缺失，司机经过学校路段不减速",
                    "家长多次向有关部门反映，至今没有得到解决",
                ],
                [
                    "建议在学校门口增设行人过街信号灯和减速设施",
                    "建议划设学校区域限速路段，加装测速抓拍设备",
                ],
            ),
            (
                "整治学校周边电动自行车违规载人",
                [
                    "{p}不少家长骑电动自行车接送孩子，超员载人、不戴头盔的现象很普遍",
                    "有的电动车一次载{a}个孩子，在车流中穿梭，十分危险",
                    "部分接送车辆是无牌无证的电动三轮车，存在很大安全隐患",
                    "交警抽查发现，学校周边电动车违法率高达{b}%",
                ],
                [
                    "建议在上下学时段加强对电动自行车违法行为的查处",
                    "建议学校和社区联合开展交通安全教育，引导家长规范接送",
                ],
            ),
        ],
    ),
    "养老服务": (
        "hot_issue",
        [
            (
                "扩大居家养老助餐服务覆盖面",
                [
                    "{p}六十岁以上老人有{a}人，其中独居和空巢老人比例较高",
                    "目前只有少数社区设有老年食堂，很多老人吃饭成了难题",
                    "已开办的助餐点每餐收费{b}元，部分低收入老人难以承受",
                    "偏远村的老人离助餐点远，送餐上门服务跟不上",
                ],
                [
                    "建议在每个社区布点老年食堂，对高龄和困难老人给予用餐补贴",
                    "建议发展送餐上门服务，引导餐饮企业参与居家养老助餐",
                ],
            ),
            (
                "加强养老护理员队伍建设",
                [
                    "{p}养老机构普遍反映护理员招不到、留不住",
                    "护理员平均年龄超过{a}岁，大多没有经过系统培训",
                    "月工资只有{b}元左右，劳动强度大，社会认可度低",
                    "失能老人越来越多，专业照护需求得不到满足",
                ],
                [
                    "建议提高养老护理员薪酬待遇，落实入职补贴和岗位津贴",
                    "建议依托职业院校开展护理员培训，建立职业技能等级制度",
                ],
            ),
            (
                "改善农村养老院设施条件",
                [
                    "{p}的农村敬老院大多建于上世纪八九十年代，房屋老化",
                    "院内没有电梯和无障碍设施，消防设施也不达标",
                    "入住老人有{a}人，但床位利用率只有{b}%，资源浪费",
                    "管理人员多为兼职，服务水平不高，老人不愿入住",
                ],
                [
                    "建议实施农村敬老院改造提升工程，补齐消防和无障碍设施短板",
                    "建议推行公建民营，引入专业机构运营农村敬老院",
                ],
            ),
        ],
    ),
    "海岛渔民": (
        "sector_interest",
        [
            (
                "减轻渔民养老保险缴费负担",
                [
                    "{p}有传统渔民{a}人，多数年龄偏大，收入随渔汛波动",
                    "近年来渔业资源减少，捕捞收入下降，渔民缴纳养老保险压力增大",
                    "按现行标准每年要缴{b}元，部分渔民中断缴费",
                    "转产转业的渔民养老保险接续手续复杂",
                ],
                [
                    "建议对困难渔民养老保险缴费给予财政补助",
                    "建议简化转产渔民社保接续手续，实行一窗通办",
                ],
            ),
            (
                "稳定渔业油价补贴政策",
                [
                    "{p}渔船的燃油成本占捕捞成本的{a}%以上",
                    "渔业油价补贴政策调整后，渔民实际得到的补贴明显减少",
                    "补贴资金发放周期长，有的要等{b}个月才能到账",
                    "部分渔民因此出海意愿下降，渔船闲置",
                ],
                [
                    "建议保持渔业油价补贴政策的连续性，及时足额发放补贴",
                    "建议将补贴与减船转产、绿色渔船改造挂钩，引导渔业转型",
                ],
            ),
            (
                "加快渔船安全设备更新",
                [
                    "{p}有{a}艘渔船船龄超过十五年，船体老化，安全设备陈旧",
                    "一些小型渔船没有安装北斗终端和防碰撞设备，海上遇险难以及时求救",
                    "救生筏、救生衣配备不全，渔民安全意识也较淡薄",
                    "去年渔船安全事故造成{b}人死亡失踪，教训深刻",
                ],
                [
                    "建议对渔船安全设备更新给予补助，推广北斗终端全覆盖",
                    "建议加强渔民安全培训，落实船东安全生产主体责任",
                ],
            ),
        ],
    ),
    "海岛交通": (
        "hot_issue",
        [
            (
                "增加海岛轮渡航班",
                [
                    "{p}与本岛之间每天只有{a}个轮渡航班，末班船时间过早",
                    "岛上居民到本岛看病、办事，当天往返十分困难",
                    "遇到大风大雾天气停航，一年停航天数达到{b}天",
                    "旅游旺季游客多，买不到船票的情况经常发生",
                ],
                [
                    "建议根据客流增加轮渡航班，延长末班船时间",
                    "建议建设全天候码头，提高恶劣天气下的通航能力",
                ],
            ),
            (
                "延伸公交线路覆盖偏远村庄",
                [
                    "{p}有{a}个偏远村还没有通公交，村民出行主要靠步行和电动车",
                    "现有公交线路班次少，最长要等{b}分钟",
                    "老人和学生出行很不方便，看病上学都成问题",
                    "一些线路因客流少被停运，群众意见较大",
                ],
                [
                    "建议延伸公交线路，开通偏远村的预约公交或定制班车",
                    "建议对农村公交运营给予财政补贴，保障基本出行",
                ],
            ),
            (
                "缓解城区停车难问题",
                [
                    "{p}机动车保有量已达{a}万辆，停车位缺口很大",
                    "老旧小区没有停车场，车辆只能停在路边和人行道上",
                    "晚上回家找不到车位，有时要绕行{b}分钟",
                    "乱停车堵塞消防通道，存在安全隐患",
                ],
                [
                    "建议利用边角地建设立体停车库，推进机关单位停车位错时共享",
                    "建议规范路内停车收费，引导社会资本投资停车设施",
                ],
            ),
        ],
    ),
    "基层医疗": (
        "hot_issue",
        [
            (
                "稳定海岛基层医疗人才队伍",
                [
                    "{p}卫生院近三年流失医务人员{a}人，骨干医生外流严重",
                    "海岛交通不便，待遇不高，年轻医生不愿来、留不住",
                    "部分科室只有{b}名医生，群众看病只能到本岛",
                    "职称评定和进修机会少，基层医生发展空间有限",
                ],
                [
                    "建议提高海岛医务人员津贴，在职称评定上给予倾斜",
                    "建议推行县域医共体人员下沉，城区医院医生定期驻岛坐诊",
                ],
            ),
            (
                "完善海岛急救转运体系",
                [
                    "{p}离本岛较远，急危重病人需要海上转运",
                    "目前转运主要依靠渔船和客船，平均用时{a}分钟以上",
                    "夜间和恶劣天气转运更加困难，去年有{b}名病人延误救治",
                    "岛上急救设备简陋，缺少专业的急救人员",
                ],
                [
                    "建议配备专用海上救护艇，建设直升机停机坪",
                    "建议建立海岛远程会诊系统，提高岛上急救能力",
                ],
            ),
            (
                "便利医保异地就医结算",
                [
                    "{p}在外地务工、随子女居住的参保人员有{a}人左右",
                    "异地就医需要事先备案，手续繁琐，很多老人不会操作",
                    "部分医院还不能直接结算，垫付费用报销要等{b}个月",
                    "门诊慢特病异地结算覆盖面窄，患者负担重",
                ],
                [
                    "建议简化异地就医备案手续，推广线上备案",
                    "建议扩大门诊慢特病异地直接结算范围",
                ],
            ),
        ],
    ),
    "教育": (
        "hot_issue",
        [
            (
                "加强海岛学校师资配备",
                [
                    "{p}的海岛学校教师平均年龄{a}岁，年轻教师少",
                    "音乐、美术、英语等学科教师缺乏，一名教师要兼教几门课",
                    "每年有{b}名教师申请调离海岛，队伍不稳定",
                    "学生人数少，学校办学规模小，教学质量难以提高",
                ],
                [
                    "建议落实海岛教师津贴，在评优评先和职称上给予倾斜",
                    "建议推行城乡教共体，城区名师定期到海岛学校支教",
                ],
            ),
            (
                "做好中小学课后托管服务",
                [
                    "{p}双职工家庭多，孩子放学后无人看管的问题突出",
                    "学校课后服务只到下午{a}点，与家长下班时间不衔接",
                    "托管内容以写作业为主，缺少兴趣类课程",
                    "校外托管机构收费每月{b}元左右，资质良莠不齐",
                ],
                [
                    "建议延长学校课后服务时间，丰富课后服务内容",
                    "建议加强对校外托管机构的监管，规范收费和安全管理",
                ],
            ),
            (
                "增加普惠性幼儿园学位",
                [
                    "{p}新建小区多，适龄幼儿增长快，公办幼儿园学位紧张",
                    "今年报名的幼儿有{a}人，公办园只能招收{b}人",
                    "民办幼儿园收费高，普通家庭难以承受",
                    "部分小区配套幼儿园没有按时建成移交",
                ],
                [
                    "建议加快公办幼儿园建设，落实小区配套幼儿园移交",
                    "建议扶持普惠性民办幼儿园，扩大普惠性学位供给",
                ],
            ),
        ],
    ),
    "生态环境": (
        "reform_development_stability",
        [
            (
                "治理海漂垃圾",
                [
                    "{p}的海岸线上堆积了大量海漂垃圾，以泡沫浮球和塑料瓶为主",
                    "每年台风过后，海滩垃圾量成倍增加，清理一次要{a}天",
                    "海漂垃圾来源复杂，沿海各地责任不清，清理经费不足",
                    "去年共清理海漂垃圾{b}吨，但很快又堆积起来",
                ],
                [
                    "建议建立海漂垃圾常态化清理机制，明确岸段责任",
                    "建议推广环保浮球，从源头减少养殖泡沫垃圾",
                ],
            ),
            (
                "解决工业园区异味扰民",
                [
                    "{p}附近的工业园区经常散发刺鼻异味，夜间尤其明显",
                    "周边{a}个小区的居民深受其害，晚上不敢开窗",
                    "居民多次投诉，环保部门检测排放达标，但异味依然存在",
                    "园区部分企业废气处理设施陈旧，存在偷排现象",
                ],
                [
                    "建议对园区企业开展废气专项整治，安装在线监测设备",
                    "建议在园区与居民区之间设置防护绿带，合理规划布局",
                ],
            ),
            (
                "整治海岸线违规占用和采砂",
                [
                    "{p}部分海岸线被违规占用，私建码头和养殖塘",
                    "有人夜间在近岸海域偷采海砂，破坏海洋生态",
                    "岸线侵蚀加剧，有{a}米海堤出现损毁",
                    "执法力量不足，查处难度大，违法成本低",
                ],
                [
                    "建议开展岸线清理整治，依法拆除违规设施",
                    "建议加强海上联合执法，严厉打击非法采砂",
                ],
            ),
        ],
    ),
    "营商与就业": (
        "policy_reaction",
        [
            (
                "缓解小微企业融资难",
                [
                    "{p}小微企业普遍反映贷款难、贷款贵",
                    "银行要求抵押担保，轻资产企业难以获得贷款",
                    "贷款审批周期长，平均要{a}天，资金需求急的企业等不起",
                    "综合融资成本高达{b}%，企业负担较重",
                ],
                [
                    "建议扩大政府性融资担保覆盖面，降低担保费率",
                    "建议推广信用贷款和知识产权质押融资",
                ],
            ),
            (
                "保障外来务工人员子女入学",
                [
                    "{p}有外来务工人员{a}万人，随迁子女入学需求大",
                    "积分入学门槛高，不少孩子只能回老家读书，成为留守儿童",
                    "公办学校学位紧张，民办学校收费每年{b}元",
                    "入学证明材料多，外来务工人员办理困难",
                ],
                [
                    "建议适当降低积分入学门槛，增加公办学校学位",
                    "建议简化随迁子女入学证明材料，实行网上办理",
                ],
            ),
            (
                "规范民宿经营审批",
                [
                    "{p}民宿发展很快，已有民宿{a}家",
                    "民宿办证涉及消防、卫生、治安等多个部门，标准不统一",
                    "很多老房子改建的民宿达不到消防要求，无法办证",
                    "无证经营的民宿占比约{b}%，存在安全隐患",
                ],
                [
                    "建议制定海岛民宿消防安全标准，实行分类审批",
                    "建议推行民宿证照联办，由乡镇统一受理",
                ],
            ),
        ],
    ),
}

# paraphrase pairs, each way: a rewriter picks some of those that apply
SYNONYMS = (
    ("建议", "希望"),
    ("建议", "提议"),
    ("群众", "老百姓"),
    ("居民", "住户"),
    ("不少", "许多"),
    ("部分", "一些"),
    ("目前", "当前"),
    ("很大", "较大"),
    ("十分", "非常"),
    ("困难", "不便"),
    ("加强", "强化"),
    ("加快", "加速"),
    ("推行", "推广"),
    ("普遍", "广泛"),
    ("问题", "难题"),
    ("反映", "反应"),
    ("解决", "破解"),
    ("老人", "老年人"),
    ("孩子", "小孩"),
    ("给予", "予以"),
    ("及时", "尽快"),
    ("明显", "显著"),
    ("经常", "常常"),
    ("难以", "很难"),
    ("严重", "突出"),
    ("落实", "兑现"),
)
OPENERS = (
    "",
    "据群众反映，",
    "笔者在调研中发现，",
    "近期走访了解到，",
    "不少委员反映，",
    "据了解，",
)
CLOSERS = (
    "",
    "以上建议，供有关部门参考。",
    "希望有关部门予以重视。",
    "此事关系群众切身利益，应尽快研究解决。",
)
INCIDENTS = (
    "有居民因此受伤，家属情绪激动",
    "居民自发写了联名信递交到镇里",
    "社区召开协调会，但没有形成结果",
    "当地媒体对此做了报道，引起广泛关注",
    "有关部门到现场查看后答复将研究解决",
    "群众拨打热线投诉了十多次",
    "发生了一起纠纷，派出所出面调解",
    "一位八十多岁的老人因此住进了医院",
    "人大代表和政协委员进行了专题走访",
    "村民代表大会专门讨论了这件事",
    "一场暴雨过后情况进一步恶化",
    "网友在论坛上发帖，跟帖有上百条",
)
SCALES = (
    "涉及{l}周边{n}户、约{m}名群众",
    "{l}受影响的有{n}户人家，{m}人左右",
    "仅{l}就有{n}户、{m}余人受到影响",
)
WITNESS = (
    "以{l}为例，问题尤为突出",
    "{l}的居民对此意见最大",
    "笔者在{l}看到的情况就是如此",
    "{l}一带情况最为典型",
)
TITLES = (
    "关于{core}的建议",
    "关于{p}{core}的建议",
    "建议{core}",
    "{p}亟需{core}",
    "关于{core}的几点思考",
    "{core}刻不容缓",
)


def _figures(rng: random.Random) -> dict[str, str]:
    return {k: str(rng.randint(3, 98)) for k in "abc"}


def _reword(sentence: str, rng: random.Random) -> str:
    """Replace some synonyms (either way), each with probability one half."""
    for left, right in SYNONYMS:
        if rng.random() < 0.5:
            sentence = sentence.replace(left, right)
        elif rng.random() < 0.3:
            sentence = sentence.replace(right, left)
    return sentence


LANDMARK_HEADS = "海金银新翠港岛湖山阳桂东南西北兴瑞和安康福"
LANDMARK_TAILS = "韵湾苑城庭景岸晖澜园苑都汇府庄"
LANDMARK_KINDS = ("小区", "社区", "村", "路", "片区", "新村")


def landmark(rng: random.Random) -> str:
    """A made-up place name within a town (a housing estate, village or road)."""
    return rng.choice(LANDMARK_HEADS) + rng.choice(LANDMARK_TAILS) + rng.choice(LANDMARK_KINDS)


@attrs.frozen
class Matter:
    """One matter: an issue of a topic in one place, with its own landmark and the part of
    the issue's sentences it is about (every text of the matter says these)."""

    topic: str
    category: str
    core: str
    place: str
    landmark: str
    problems: tuple[str, ...]
    proposals: tuple[str, ...]
    facts: tuple[str, ...]  # what happened there, told by every text of the matter


def matter(issue: int, place: str, rng: random.Random) -> Matter:
    """A matter of the ``issue``-th issue in ``place``: three of its problems, one or both of
    its proposals, and a landmark."""
    topic, category, _, (core, problems, proposals) = list(_issues())[issue]
    said = tuple(rng.sample(problems, 3))
    wanted = tuple(rng.sample(proposals, rng.choice((1, 2, 2))))
    where = landmark(rng)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    households, people = rng.randint(12, 480), rng.randint(30, 1500)
    facts = (
        f"{month}月{day}日，{where}{rng.choice(INCIDENTS)}",
        rng.choice(SCALES).format(l=where, n=households, m=people),
    )
    return Matter(topic, category, core, place, where, said, wanted, facts)


def write(m: Matter, rng: random.Random) -> tuple[str, str]:
    """One person's text of a matter: reworded, reordered, a sentence dropped at times,
    figures of its own, an opener, a closer and a title pattern of its own."""
    figures = {"p": m.place, **_figures(rng)}
    said = list(m.problems)
    rng.shuffle(said)
    if rng.random() < 0.3:
        said.pop()
    said.insert(rng.randrange(len(said) + 1), rng.choice(WITNESS).format(l=m.landmark))
    for fact in m.facts:
        if rng.random() < 0.85:
            said.insert(rng.randrange(len(said) + 1), fact)
    wanted = list(m.proposals)
    rng.shuffle(wanted)
    body = rng.choice(OPENERS) + "；".join(_reword(s, rng) for s in said).format(**figures) + "。"
    lead = rng.choice(("为此建议：", "建议如下：", "对此，", ""))
    steps = "。".join(f"{n}. {_reword(s, rng)}" for n, s in enumerate(wanted, start=1))
    body += lead + steps.format(**figures) + "。" + rng.choice(CLOSERS)
    title = _reword(rng.choice(TITLES).format(core=m.core, p=m.place), rng)
    return title, body


def _issues() -> Iterator[tuple[str, str, int, tuple[str, list[str], list[str]]]]:
    for topic, (category, issues) in TOPICS.items():
        for n, issue in enumerate(issues):
            yield topic, category, n, issue


def make_pairs(
    duplicates: int = 220, differents: int = 220, seed: int = SEED
) -> list[dict[str, object]]:
    """The labelled pairs: ``duplicates`` of one matter, ``differents`` of one topic."""
    rng = random.Random(seed)
    issues = list(_issues())
    places = [(i, p) for i in range(len(issues)) for p in PLACES]
    rng.shuffle(places)
    pairs: list[dict[str, object]] = []
    for n, (i, place) in enumerate(places[:duplicates]):
        m = matter(i, place, rng)
        pairs.append(_pair(f"dup-{n:03d}", "duplicate", m, [write(m, rng) for _ in range(2)]))
    by_topic: dict[str, list[int]] = {}
    for i, (topic, *_) in enumerate(issues):
        by_topic.setdefault(topic, []).append(i)
    for n in range(differents):
        first, second = rng.sample(by_topic[rng.choice(list(by_topic))], 2)
        place = rng.choice(PLACES)
        other = place if rng.random() < 0.5 else rng.choice(PLACES)
        one, two = matter(first, place, rng), matter(second, other, rng)
        pairs.append(_pair(f"neg-{n:03d}", "different", one, [write(one, rng), write(two, rng)]))
    return pairs


def _pair(name: str, label: str, m: Matter, docs: list[tuple[str, str]]) -> dict[str, object]:
    (ta, ba), (tb, bb) = docs
    return {
        "label": label,
        "topic": m.topic,
        "category": m.category,
        "issue": m.core,  # the first item's issue (its title core) and place
        "place": m.place,
        "a": {"id": f"{name}-a", "title": ta, "body": ba},
        "b": {"id": f"{name}-b", "title": tb, "body": bb},
    }


def distractors(pairs: list[dict[str, object]], count: int, seed: int = SEED + 1) -> list[Doc]:
    """``count`` more items, each of a matter (issue and place) no duplicate pair is about."""
    rng = random.Random(seed)
    issues = list(_issues())
    taken = {(pair["issue"], pair["place"]) for pair in pairs if pair["label"] == "duplicate"}
    free = [
        (i, p) for i, issue in enumerate(issues) for p in PLACES if (issue[3][0], p) not in taken
    ]
    docs: list[Doc] = []
    for n in range(count):
        i, place = rng.choice(free)
        title, body = write(matter(i, place, rng), rng)
        docs.append({"id": f"other-{n:05d}", "title": title, "body": body})
    return docs


def corpus(count: int, seed: int = SEED + 2) -> Iterator[Doc]:
    """``count`` items of random matters (a latency corpus; duplicates among them happen)."""
    rng = random.Random(seed)
    issues = len(list(_issues()))
    for n in range(count):
        title, body = write(matter(rng.randrange(issues), rng.choice(PLACES), rng), rng)
        yield {"id": f"c-{n:06d}", "title": title, "body": body}


def load_pairs(path: Path = PAIRS_FILE) -> list[dict[str, object]]:
    """The labelled pairs of the shipped file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> None:
    """Rewrite the shipped file."""
    with PAIRS_FILE.open("w", encoding="utf-8") as out:
        for pair in make_pairs():
            out.write(json.dumps(pair, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
