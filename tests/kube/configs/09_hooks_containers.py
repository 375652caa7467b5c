# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# lifecycle_hooks (NOT template-expanded: {username} stays literal), init_containers (list) and
# extra_containers (dict, values sorted by key), both expanded.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.lifecycle_hooks = {
    'postStart': {'exec': {'command': ['sh', '-c', 'echo started for {username} > /tmp/started']}},
    'preStop': {'exec': {'command': ['sh', '-c', 'sleep 2']}},
}
c.KubeSpawner.init_containers = [
    {
        'name': 'fix-permissions',
        'image': 'busybox:1.36',
        'command': ['sh', '-c', 'chown -R 1000:100 /home/{username}'],
        'securityContext': {'runAsUser': 0},
        'volumeMounts': [{'name': 'home', 'mountPath': '/home/{username}'}],
    },
    {
        'name': 'wait-for-db',
        'image': 'busybox:1.36',
        'command': ['sh', '-c', 'until nc -z db 5432; do sleep 1; done'],
    },
]
c.KubeSpawner.extra_containers = {
    'b-sidecar': {
        'name': 'proxy-{username}',
        'image': 'nginx:1.27',
        'ports': [{'containerPort': 8080, 'name': 'proxy'}],
        'env': [{'name': 'OWNER', 'value': '{username}'}],
    },
    'a-logger': {
        'name': 'logger',
        'image': 'busybox:1.36',
        'args': ['tail', '-F', '/var/log/{username}.log'],
    },
}
c.KubeSpawner.volumes = [{'name': 'home', 'emptyDir': {}}]
