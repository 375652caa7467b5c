"""Managed service: jupyterhub-idle-culler.

The hub starts the culler as a subprocess and gives it a role with exactly the
scopes it needs (see "Services" and "RBAC: roles for services" in the docs).
"""
import sys

c = get_config()  # noqa: F821

timeout_minutes = 60
cull_every = 10 * 60

c.JupyterHub.services = [
    {
        'name': 'jupyterhub-idle-culler',
        'command': [
            'python3',
            '-m',
            'jupyterhub_idle_culler',
            '--timeout=%d' % (timeout_minutes * 60),
            '--cull-every=' + str(cull_every),
            '--concurrency=5',
        ],
        'display': False,
    },
]

c.JupyterHub.load_roles = [
    {
        'name': 'jupyterhub-idle-culler-role',
        'scopes': [
            'list:users',
            'read:users:activity',
            'read:servers',
            'delete:servers',
            # needed to remove inactive users, not only their servers
            'admin:users',
        ],
        'services': ['jupyterhub-idle-culler'],
    },
]

if sys.platform.startswith('linux'):
    c.JupyterHub.last_activity_interval = 120
