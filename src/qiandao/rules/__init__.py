"""Pure rules of the workflow: no I/O, no clock, no storage."""
