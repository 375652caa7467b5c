"""Named servers and hub-wide spawn limits, tunable from the environment."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = int(os.getenv('NAMED_SERVER_LIMIT', '3'))
c.JupyterHub.default_server_name = ''

# At most this many spawns may be pending at once; never below 1
spawn_limit = int(os.environ.get('SPAWN_LIMIT', '25'))
c.JupyterHub.concurrent_spawn_limit = max(1, spawn_limit)

# Cap on running servers; min() keeps a typo in the env from overloading the node
c.JupyterHub.active_server_limit = min(200, int(os.environ.get('ACTIVE_LIMIT', '150')))

c.JupyterHub.init_spawners_timeout = 20
c.JupyterHub.allow_existing_invalid_named_servers = 'allow-start'
c.Spawner.consecutive_failure_limit = 5
