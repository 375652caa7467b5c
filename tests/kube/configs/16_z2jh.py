# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# What the Zero-to-JupyterHub chart's hub config sets with the chart defaults (release 'jhub' in
# namespace 'jhub'): labels, uid/fs_gid, 1G guarantee, dedicated-node tolerations, the
# node-purpose preferred affinity, dynamic storage with volume-{user_server}, the user scheduler
# and the block-cloud-metadata init container. (JupyterHub.hub_connect_url = http://hub:8081 is
# left out: it only changes hub-computed env values.)
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
c.JupyterHub.cleanup_servers = False
c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}

c.KubeSpawner.namespace = 'jhub'
c.KubeSpawner.common_labels = {
    'app': 'jupyterhub',
    'app.kubernetes.io/name': 'jupyterhub',
    'heritage': 'jupyterhub',
    'app.kubernetes.io/managed-by': 'kubespawner',
    'chart': 'jupyterhub-4.2.0',
    'helm.sh/chart': 'jupyterhub-4.2.0',
    'release': 'jhub',
    'app.kubernetes.io/instance': 'jhub',
}
c.KubeSpawner.image = 'quay.io/jupyterhub/k8s-singleuser-sample:4.2.0'
c.KubeSpawner.start_timeout = 300
c.KubeSpawner.events_enabled = True
c.KubeSpawner.extra_labels = {'hub.jupyter.org/network-access-hub': 'true'}
c.KubeSpawner.extra_annotations = {}
c.KubeSpawner.uid = 1000
c.KubeSpawner.fs_gid = 100
c.KubeSpawner.allow_privilege_escalation = False
c.KubeSpawner.mem_guarantee = '1G'
c.KubeSpawner.node_selector = {}
c.KubeSpawner.tolerations = [
    {'key': 'hub.jupyter.org/dedicated', 'operator': 'Equal', 'value': 'user', 'effect': 'NoSchedule'},
    {'key': 'hub.jupyter.org_dedicated', 'operator': 'Equal', 'value': 'user', 'effect': 'NoSchedule'},
]
c.KubeSpawner.node_affinity_required = []
c.KubeSpawner.node_affinity_preferred = [
    {
        'weight': 100,
        'preference': {
            'matchExpressions': [{'key': 'hub.jupyter.org/node-purpose', 'operator': 'In', 'values': ['user']}],
        },
    },
]
c.KubeSpawner.lifecycle_hooks = {}
c.KubeSpawner.extra_containers = []
c.KubeSpawner.init_containers = [
    {
        'name': 'block-cloud-metadata',
        'image': 'quay.io/jupyterhub/k8s-network-tools:4.2.0',
        'command': [
            'iptables', '--append', 'OUTPUT', '--protocol', 'tcp',
            '--destination', '169.254.169.254', '--destination-port', '80', '--jump', 'DROP',
        ],
        'securityContext': {'privileged': True, 'runAsUser': 0, 'capabilities': {'add': ['NET_ADMIN']}},
        'resources': {},
    },
]
c.KubeSpawner.scheduler_name = 'user-scheduler'
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_access_modes = ['ReadWriteOnce']
c.KubeSpawner.storage_capacity = '10Gi'
c.KubeSpawner.storage_extra_labels = {}
c.KubeSpawner.volumes = [
    {'name': 'volume-{user_server}', 'persistentVolumeClaim': {'claimName': '{pvc_name}'}},
]
c.KubeSpawner.volume_mounts = [
    {'mountPath': '/home/jovyan', 'name': 'volume-{user_server}'},
]
c.Spawner.cmd = ['jupyterhub-singleuser']
