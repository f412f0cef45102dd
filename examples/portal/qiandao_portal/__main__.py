"""``python -m qiandao_portal`` (run from examples/portal): see :func:`qiandao_portal.run.main`."""

from qiandao_portal.run import main

raise SystemExit(main())
