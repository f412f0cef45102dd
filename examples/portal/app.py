"""The reference portal's launcher: ``python examples/portal/app.py --demo-data``.

Creates (or upgrades) an SQLite file in the current folder, or uses ``--url``; with
``--demo-data`` it seeds Zhoushan accounts, units and an item in every state, and prints the
accounts' credentials once. See docs/portal.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qiandao_portal.run import main

if __name__ == "__main__":
    raise SystemExit(main())
