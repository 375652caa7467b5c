# expect: 9:1 unsupported try
"""try/except around an optional setting."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.Spawner.default_url = '/lab'

try:
    c.Spawner.mem_limit = os.environ['MEM_LIMIT']
except KeyError:
    c.Spawner.mem_limit = '1G'
