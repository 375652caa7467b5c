# oxhub-kube: {"user": "Alice.Smith", "server": "lab-1", "user_options": {}}
# The legacy 'escape' slug scheme (kubespawner <= 6) with custom pod and PVC name templates.
# The PVC name only shows through the volume's claimName ({pvc_name}).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
c.JupyterHub.allow_named_servers = True

c.KubeSpawner.slug_scheme = 'escape'
c.KubeSpawner.pod_name_template = 'nb-{username}--{servername}'
c.KubeSpawner.pvc_name_template = 'home-{username}'
c.KubeSpawner.volumes = [
    {'name': 'home', 'persistentVolumeClaim': {'claimName': '{pvc_name}'}},
]
c.KubeSpawner.volume_mounts = [
    {'name': 'home', 'mountPath': '/home/jovyan'},
]
c.KubeSpawner.extra_annotations = {
    'oxhub.test/scheme-dependent': '{username}|{servername}|{user_server}',
    'oxhub.test/safe': '{safe_username}|{safe_servername}|{safe_user_server}',
    'oxhub.test/escaped': '{escaped_username}|{escaped_servername}|{escaped_user_server}',
    'oxhub.test/resolved': '{pod_name}|{pvc_name}',
}
