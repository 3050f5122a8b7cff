"""Resilience policies. Each module holds one policy: a pure decision core and thin sync and
async layers around it. The order of the layers is in :mod:`maintainx_resilient._pipeline`."""
