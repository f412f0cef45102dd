"""The reference portal of qiandao (examples/portal): see docs/portal.md."""
