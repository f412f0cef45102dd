"""Files that exist only to be type-checked: ``mypy`` (strict) reads them, nothing runs them.

Each function states, with :func:`typing.assert_type`, what a part of the public API returns,
so a change of a return type, or of where a type can be imported from, shows up as a type
error. Everything is imported from ``qiandao`` where it can be; the imports from elsewhere are
the types a caller receives but cannot yet import from the top-level package.
pytest does not collect this folder (``tests/conftest.py``).
"""
