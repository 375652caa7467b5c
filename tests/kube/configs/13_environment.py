# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# Spawner.environment: plain values, a $(VAR) reference chain (sorted in dependency rounds), a
# self reference (ignored as a dependency), a cycle and a reference to an undefined variable (both
# left for the end), full EnvVar dicts with valueFrom (one with its own 'name'), {username}
# templates and a doubled-brace JSON value.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.Spawner.environment = {
    'PLAIN': 'plain value',
    'C_CHAIN': '$(B_REF)/c',
    'B_REF': '$(A_BASE)/b',
    'A_BASE': '/opt',
    'AA_HUB_REF': 'user=$(JUPYTERHUB_USER)',
    'SELF_REF': '$(SELF_REF):extra',
    'CYCLE_1': '$(CYCLE_2)',
    'CYCLE_2': '$(CYCLE_1)',
    'DANGLING': '$(NOT_DEFINED_ANYWHERE)',
    'DB_PASSWORD': {'valueFrom': {'secretKeyRef': {'name': 'db-{username}', 'key': 'password'}}},
    'POD_IP_KEY': {'name': 'MY_POD_IP', 'valueFrom': {'fieldRef': {'fieldPath': 'status.podIP'}}},
    'HOME_DIR': '/home/{username}',
    'JSON_SETTINGS': '{{"owner": "{username}"}}',
}
