# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# profile_list as a dict (profiles ordered by key, the key is not the slug), no default anywhere and
# empty user_options: the first profile and each option's first choice apply. The override changes
# namespace (used) and pod_name_template (too late: the pod name was computed at construction).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.environment = {'KEEP': 'config', 'DROP': 'config'}
c.KubeSpawner.profile_list = {
    'b-second': {
        'display_name': 'Second',
        'slug': 'second',
        'kubespawner_override': {'image': 'second:1'},
    },
    'a-first': {
        'display_name': 'First Profile',
        'kubespawner_override': {
            'namespace': 'profile-ns',
            'pod_name_template': 'profile-{username}',
            'environment': {'DROP': None, 'ADDED': 'profile'},
        },
        'profile_options': {
            'cpu': {
                'display_name': 'CPU',
                'choices': {
                    'two': {'display_name': '2 CPUs', 'kubespawner_override': {'cpu_limit': 2}},
                    'four': {'display_name': '4 CPUs', 'kubespawner_override': {'cpu_limit': 4}},
                },
            },
        },
    },
}
