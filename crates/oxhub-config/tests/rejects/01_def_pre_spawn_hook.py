# expect: 10:1 unsupported def
"""A pre_spawn_hook written as a Python function."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.spawner_class = 'localprocess'
c.Spawner.default_url = '/lab'


def create_home(spawner):
    home = os.path.join('/home', spawner.user.name)
    if not os.path.exists(home):
        os.makedirs(home, exist_ok=True)


c.Spawner.pre_spawn_hook = create_home
