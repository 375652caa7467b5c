# oxhub-kube: {"user": "alice", "server": "", "user_options": {"profile": "data-science-gpu", "image--unlisted-choice": "quay.io/jupyter/scipy-notebook:2024-06-03", "size": "large"}}
# profile_list with kubespawner_override (dicts merge recursively, None deletes a key) and
# profile_options: an unlisted_choice with validation_regex ({value} substituted, other {x} left for
# the later template expansion) and a listed choice. The second profile has no slug, so it is
# slugified from display_name.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.environment = {'BASE': 'base', 'SHARED': 'from-config'}
c.KubeSpawner.extra_labels = {'keep': 'yes', 'remove-me': 'yes'}
c.KubeSpawner.node_selector = {'pool': 'users'}
c.KubeSpawner.cpu_limit = 1
c.KubeSpawner.mem_limit = '1G'

c.KubeSpawner.profile_list = [
    {
        'display_name': 'Small',
        'slug': 'small',
        'default': True,
        'description': 'One CPU',
        'kubespawner_override': {'cpu_limit': 1, 'mem_limit': '1G'},
    },
    {
        'display_name': 'Data Science - GPU',
        'description': 'A GPU node',
        'kubespawner_override': {
            'cpu_limit': 4,
            'mem_limit': '8G',
            'extra_resource_limits': {'nvidia.com/gpu': '1'},
            'environment': {'FROM_PROFILE': 'gpu', 'SHARED': 'from-profile'},
            'extra_labels': {'remove-me': None, 'profile': 'gpu'},
            'node_selector': {'gpu': 'true'},
            'tolerations': [{'key': 'nvidia.com/gpu', 'operator': 'Exists', 'effect': 'NoSchedule'}],
        },
        'profile_options': {
            'image': {
                'display_name': 'Image',
                'choices': {
                    'pytorch': {
                        'display_name': 'PyTorch',
                        'kubespawner_override': {'image': 'quay.io/jupyter/pytorch-notebook:cuda12-2024-06-03'},
                    },
                    'tensorflow': {
                        'display_name': 'TensorFlow',
                        'default': True,
                        'kubespawner_override': {'image': 'quay.io/jupyter/tensorflow-notebook:cuda-2024-06-03'},
                    },
                },
                'unlisted_choice': {
                    'enabled': True,
                    'display_name': 'Custom image',
                    'validation_regex': '^quay\\.io/jupyter/[a-z-]+:[0-9-]+$',
                    'validation_message': 'Must be a quay.io/jupyter image with a date tag',
                    'kubespawner_override': {
                        'image': '{value}',
                        'environment': {'CUSTOM_IMAGE': '{value} for {username}'},
                    },
                },
            },
            'size': {
                'display_name': 'Size',
                'choices': {
                    'medium': {'display_name': 'Medium', 'kubespawner_override': {'mem_guarantee': '2G'}},
                    'large': {
                        'display_name': 'Large',
                        'kubespawner_override': {'mem_guarantee': '6G', 'environment': {'SHARED': 'from-option'}},
                    },
                },
            },
        },
    },
]
