# oxhub-kube: {"user": "alice", "server": "gpu", "user_options": {}}
# An explicit namespace and a short, valid named server (jupyter-alice--gpu). {namespace} is the
# configured one, {hubnamespace} still the hub's own ('default' -> 'user'). A service account with
# automount_service_account_token left at None: the field is omitted.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
c.JupyterHub.allow_named_servers = True

c.KubeSpawner.namespace = 'jhub'
c.KubeSpawner.service_account = 'default'
c.KubeSpawner.extra_annotations = {
    'oxhub.test/namespace': '{namespace}|{hubnamespace}',
    'oxhub.test/names': '{servername}|{user_server}|{pod_name}|{pvc_name}',
}
