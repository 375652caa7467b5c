"""Users, groups, roles and custom scopes declared in config."""

c = get_config()  # noqa: F821

staff = {'alice', 'bob'}
students = [f'student{i}' for i in range(1, 6)]
banned = ('mallory',)

c.Authenticator.admin_users = staff
c.Authenticator.allowed_users = staff | set(students)
c.Authenticator.blocked_users = set(banned)
c.Authenticator.allow_existing_users = True
c.Authenticator.username_map = {'Alice.Smith': 'alice'}

c.JupyterHub.load_groups = {
    'teaching': {'users': sorted(staff), 'properties': {'course': 'physics-101'}},
    'students': {'users': students},
}

c.JupyterHub.custom_scopes = {
    'custom:grades:read': {'description': 'Read the grade book'},
    'custom:grades:write': {
        'description': 'Edit the grade book',
        'subscopes': ['custom:grades:read'],
    },
}

c.JupyterHub.load_roles = [
    {
        'name': 'teaching-assistant',
        'description': 'See and restart student servers, edit grades',
        'scopes': ['admin:servers!group=students', 'read:users!group=students', 'custom:grades:write'],
        'groups': ['teaching'],
    },
    {
        'name': 'user',
        'scopes': ['self', 'custom:grades:read'],
    },
]

c.JupyterHub.extra_user_scopes = {'read:users:name'}
print('%d students, %d staff' % (len(students), len(staff)))
