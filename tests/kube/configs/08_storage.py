# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# volumes and volume_mounts as dicts (values sorted by key, lexicographically: '10-...' < '9-...'),
# expanded with {username} and {pvc_name}; a PVC with capacity, class, access modes, extra
# labels/annotations and a selector (all expanded).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.volumes = {
    '9-home': {'name': 'home', 'persistentVolumeClaim': {'claimName': '{pvc_name}'}},
    '10-shared': {'name': 'shared-{username}', 'nfs': {'server': 'nfs.example.com', 'path': '/export/{username}'}},
    '2-scratch': {'name': 'scratch', 'emptyDir': {'sizeLimit': '1Gi'}},
}
c.KubeSpawner.volume_mounts = {
    'home': {'name': 'home', 'mountPath': '/home/jovyan'},
    'shared': {'name': 'shared-{username}', 'mountPath': '/mnt/shared', 'subPath': '{username}', 'readOnly': True},
    'scratch': {'name': 'scratch', 'mountPath': '/tmp/scratch'},
}
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = '5Gi'
c.KubeSpawner.storage_class = 'fast-ssd'
c.KubeSpawner.storage_access_modes = ['ReadWriteOnce', 'ReadWriteOncePod']
c.KubeSpawner.storage_extra_labels = {'owner': '{username}', 'backup': 'true'}
c.KubeSpawner.storage_extra_annotations = {'oxhub.test/owner': '{unescaped_username}', 'oxhub.test/pod': '{pod_name}'}
c.KubeSpawner.storage_selector = {'matchLabels': {'owner': '{username}'}}
