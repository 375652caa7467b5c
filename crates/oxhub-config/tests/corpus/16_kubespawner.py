"""KubeSpawner with a profile list (small / GPU) on the spawn page."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

registry = os.environ.get('IMAGE_REGISTRY', 'quay.io/jupyter')
tag = os.environ.get('IMAGE_TAG', '2024-06-03')

c.KubeSpawner.image = f'{registry}/scipy-notebook:{tag}'
c.KubeSpawner.namespace = os.environ.get('POD_NAMESPACE', 'jhub')
c.KubeSpawner.service_account = None
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = '10Gi'
c.KubeSpawner.node_selector = {'hub.jupyter.org/node-purpose': 'user'}

c.KubeSpawner.volumes = [
    {'name': 'shared', 'persistentVolumeClaim': {'claimName': 'shared-data'}},
]
c.KubeSpawner.volume_mounts = [
    {'name': 'shared', 'mountPath': '/home/jovyan/shared', 'readOnly': True},
]

c.KubeSpawner.profile_list = [
    {
        'display_name': 'Small (2 CPU, 4 GB)',
        'slug': 'small',
        'default': True,
        'kubespawner_override': {'cpu_limit': 2, 'mem_limit': '4G'},
    },
    {
        'display_name': 'GPU (8 CPU, 32 GB, 1 GPU)',
        'slug': 'gpu',
        'description': 'Only for the deep-learning course',
        'kubespawner_override': {
            'image': f'{registry}/pytorch-notebook:cuda12-{tag}',
            'cpu_limit': 8,
            'mem_limit': '32G',
            'extra_resource_limits': {'nvidia.com/gpu': '1'},
            'node_selector': {'gpu': 'true'},
        },
        'profile_options': {
            'image': {
                'display_name': 'Image',
                'choices': {
                    'pytorch': {'display_name': 'PyTorch', 'kubespawner_override': {'image': 'quay.io/jupyter/pytorch-notebook'}},
                    'tensorflow': {'display_name': 'TensorFlow', 'kubespawner_override': {'image': 'quay.io/jupyter/tensorflow-notebook'}},
                },
            },
        },
    },
]

c.KubeSpawner.extra_pod_config = {'priorityClassName': 'user-pods', 'tolerations': []}
c.KubeSpawner.cpu_limit = 2
c.KubeSpawner.mem_limit = '4G'
c.KubeSpawner.start_timeout = 300
c.KubeSpawner.http_timeout = 120
c.JupyterHub.cleanup_servers = False
