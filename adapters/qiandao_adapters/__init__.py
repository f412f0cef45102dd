"""Adapters: implementations of the qiandao ports (in-memory, SQL, notifiers)."""
