# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# node_selector, tolerations, the six affinity traits (some given as dicts: values sorted by key,
# lexicographically), scheduler_name and priority_class_name. None of these is template-expanded.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.node_selector = {
    'hub.jupyter.org/node-purpose': 'user',
    'disktype': 'ssd',
}
c.KubeSpawner.tolerations = {
    '9-dedicated': {
        'key': 'hub.jupyter.org/dedicated',
        'operator': 'Equal',
        'value': 'user',
        'effect': 'NoSchedule',
    },
    '10-gpu': {
        'key': 'nvidia.com/gpu',
        'operator': 'Exists',
        'effect': 'NoSchedule',
    },
    '11-unreachable': {
        'key': 'node.kubernetes.io/unreachable',
        'operator': 'Exists',
        'effect': 'NoExecute',
        'tolerationSeconds': 300,
    },
}
c.KubeSpawner.node_affinity_required = [
    {'matchExpressions': [{'key': 'kubernetes.io/arch', 'operator': 'In', 'values': ['amd64', 'arm64']}]},
]
c.KubeSpawner.node_affinity_preferred = [
    {
        'weight': 100,
        'preference': {'matchExpressions': [{'key': 'hub.jupyter.org/node-purpose', 'operator': 'In', 'values': ['user']}]},
    },
]
c.KubeSpawner.pod_affinity_required = {
    'b-same-zone': {
        'labelSelector': {'matchLabels': {'app': 'datastore'}},
        'topologyKey': 'topology.kubernetes.io/zone',
    },
}
c.KubeSpawner.pod_affinity_preferred = [
    {
        'weight': 50,
        'podAffinityTerm': {
            'labelSelector': {'matchLabels': {'component': 'singleuser-server'}},
            'topologyKey': 'kubernetes.io/hostname',
        },
    },
]
c.KubeSpawner.pod_anti_affinity_required = [
    {
        'labelSelector': {'matchExpressions': [{'key': 'component', 'operator': 'In', 'values': ['hub']}]},
        'topologyKey': 'kubernetes.io/hostname',
    },
]
c.KubeSpawner.pod_anti_affinity_preferred = {
    'z-spread': {
        'weight': 10,
        'podAffinityTerm': {
            'labelSelector': {'matchLabels': {'hub.jupyter.org/username': '{username}'}},
            'topologyKey': 'kubernetes.io/hostname',
        },
    },
    'a-spread': {
        'weight': 20,
        'podAffinityTerm': {
            'labelSelector': {'matchLabels': {'app': 'jupyterhub'}},
            'topologyKey': 'topology.kubernetes.io/zone',
        },
    },
}
c.KubeSpawner.scheduler_name = 'user-scheduler'
c.KubeSpawner.priority_class_name = 'jhub-default-priority'
