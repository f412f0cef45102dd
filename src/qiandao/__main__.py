"""``python -m qiandao``: see :mod:`qiandao.cli`."""

from qiandao.cli import main

raise SystemExit(main())
