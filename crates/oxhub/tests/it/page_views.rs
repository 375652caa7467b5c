//! The pages as admins and institutions shape them (pages.md §1, admin-ui.md): the admin
//! panel rendered from the API's listings, the nav bar, `template_paths` overrides,
//! `template_vars` and announcements, `<status>.html` error pages, a broken template at
//! startup; hostile names escaped throughout. Against the real binary, no spawner.

use crate::api::Hub;
use crate::pages::{encode, hub, Browser, ADMIN_TOKEN};

fn admin_api(hub: &Hub, method: &str, path: &str, body: Option<&str>) -> u16 {
    let mut b = Browser::default();
    let auth = format!("token {ADMIN_TOKEN}");
    b.send(
        hub,
        method,
        &format!("/hub/api{path}"),
        body,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
    )
    .status
}

fn logged_in(hub: &Hub, user: &str) -> Browser {
    let mut b = Browser::default();
    let r = b.login(hub, user, None);
    assert_eq!(r.status, 302, "{}", r.body);
    b
}

#[test]
fn the_admin_panel_lists_filters_sorts_and_pages_users() {
    let (_dir, hub) = hub("c.JupyterHub.allow_named_servers = True\n");
    let names = ["amy", "bob", "bobby", "carl", "dora"];
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        admin_api(
            &hub,
            "POST",
            "/users",
            Some(&format!("{{\"usernames\": [{list}]}}"))
        ),
        201
    );
    // A stopped named server of bob's appears as its own row.
    assert_eq!(
        admin_api(&hub, "PUT", "/users/bob/servers/gpu", Some("{}")),
        201
    );
    let mut admin = logged_in(&hub, "admin");

    let page = admin.get(&hub, "/hub/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    for n in names {
        assert!(
            page.body.contains(&format!("data-user=\"{n}\"")),
            "{n}: {}",
            page.body
        );
    }
    assert!(page.body.contains("data-user=\"bob\" data-server=\"gpu\""));
    assert!(page.body.contains("Displaying 1-6 of 6"), "{}", page.body);
    assert!(
        page.body.contains("id=\"nav-admin\""),
        "the nav links the panel for admins"
    );
    assert!(page
        .body
        .contains("class=\"btn btn-sm btn-danger delete-server\""));

    let page = admin.get(&hub, "/hub/admin?name_filter=bo&sort=-name");
    assert_eq!(page.status, 200);
    let bobby = page
        .body
        .find("data-user=\"bobby\"")
        .unwrap_or_else(|| panic!("{}", page.body));
    let bob = page.body.find("data-user=\"bob\"").unwrap();
    assert!(bobby < bob, "sorted by name, descending");
    assert!(!page.body.contains("data-user=\"amy\""));
    assert!(page.body.contains("Displaying 1-2 of 2"));
    // The sort link of the sorted column turns it around, keeping the filter.
    assert!(
        page.body
            .contains("href=\"&#x2f;hub&#x2f;admin?name_filter=bo&amp;sort=name\""),
        "{}",
        page.body
    );

    let page = admin.get(&hub, "/hub/admin?limit=2&offset=2");
    assert!(page.body.contains("Displaying 3-4 of 6"), "{}", page.body);
    assert!(page.body.contains("id=\"previous-page\"") && page.body.contains("id=\"next-page\""));
    // Past the end: back to the first page.
    let r = admin.get(&hub, "/hub/admin?offset=500");
    assert_eq!(
        (r.status, r.location().as_deref()),
        (302, Some("/hub/admin"))
    );
    // A bad sort key is the API's own error, shown on the page.
    let page = admin.get(&hub, "/hub/admin?sort=password");
    assert!(page.body.contains("id=\"list-error\""), "{}", page.body);

    let page = admin.get(&hub, "/hub/admin/edit-user/bob");
    assert!(page.body.contains("Editing user bob"));
    assert_eq!(admin.get(&hub, "/hub/admin/edit-user/nobody").status, 404);
    assert_eq!(admin.get(&hub, "/hub/admin/add-users").status, 200);
}

#[test]
fn the_admin_panel_needs_the_admin_ui_scope() {
    let (_dir, hub) = hub("");
    let mut amy = logged_in(&hub, "amy");
    for path in ["/hub/admin", "/hub/admin/groups", "/hub/admin/add-users"] {
        let r = amy.get(&hub, path);
        assert_eq!(r.status, 403, "{path}");
        assert!(r.body.contains("admin-ui"), "{}", r.body);
    }
    let home = amy.get(&hub, "/hub/home");
    assert!(
        !home.body.contains("id=\"nav-admin\""),
        "no Admin link without the scope"
    );
    // Anonymous: to the login page.
    let r = Browser::default().get(&hub, "/hub/admin");
    assert_eq!(r.status, 302);
}

#[test]
fn groups_in_the_admin_panel() {
    let (_dir, hub) = hub("");
    assert_eq!(
        admin_api(&hub, "POST", "/users", Some("{\"usernames\": [\"amy\"]}")),
        201
    );
    assert_eq!(admin_api(&hub, "POST", "/groups/physics", None), 201);
    assert_eq!(
        admin_api(
            &hub,
            "POST",
            "/groups/physics/users",
            Some("{\"users\": [\"amy\"]}")
        ),
        200
    );
    assert_eq!(
        admin_api(
            &hub,
            "PUT",
            "/groups/physics/properties",
            Some("{\"course\": \"<b>101</b>\"}")
        ),
        200
    );
    let mut admin = logged_in(&hub, "admin");
    let page = admin.get(&hub, "/hub/admin/groups");
    assert!(
        page.body.contains(">physics</a>") && page.body.contains("1 user<"),
        "{}",
        page.body
    );
    let page = admin.get(&hub, "/hub/admin/groups/physics");
    assert!(page.body.contains("Editing Group physics"));
    assert!(page.body.contains("data-user=\"amy\""));
    assert!(
        page.body.contains("value=\"&lt;b&gt;101&lt;&#x2f;b&gt;\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>101"));
    assert_eq!(admin.get(&hub, "/hub/admin/groups/none").status, 404);
    assert_eq!(admin.get(&hub, "/hub/admin/create-group").status, 200);
}

#[test]
fn hostile_names_are_escaped_on_every_page() {
    let (_dir, hub) = hub("");
    let name = "<img src=x onerror=alert(1)>";
    let body = format!("{{\"usernames\": [\"{}\"]}}", name.replace('"', "\\\""));
    // JupyterHub takes such a name (no '/'): every page must escape it.
    assert_eq!(admin_api(&hub, "POST", "/users", Some(&body)), 201);
    let mut admin = logged_in(&hub, "admin");
    let page = admin.get(&hub, "/hub/admin");
    assert!(
        page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("onerror=alert(1)>"), "{}", page.body);
    let page = admin.get(&hub, &format!("/hub/admin/edit-user/{}", encode(name)));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(name));
    let mut hostile = logged_in(&hub, name);
    let home = hostile.get(&hub, "/hub/home");
    assert!(!home.body.contains(name), "{}", home.body);
    let page = admin.get(&hub, &format!("/hub/nowhere/{}", encode(name)));
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("onerror=alert"), "{}", page.body);
}

/// Two overrides as institutions write them: a login page with a banner and a page.html with
/// an extra nav link, each reaching the stock template through `templates/`.
#[test]
fn template_paths_overrides_and_template_vars() {
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("custom-templates");
    std::fs::create_dir(&custom).unwrap();
    std::fs::write(
        custom.join("login.html"),
        "{% extends \"templates/login.html\" %}\n\
         {% block login %}<div id=\"uni-banner\">Welcome to {{ institution }}</div>{{ super() }}{% endblock %}\n",
    )
    .unwrap();
    std::fs::write(
        custom.join("page.html"),
        "{% extends \"templates/page.html\" %}\n\
         {% block nav_bar_left_items %}{{ super() }}<li><a class=\"nav-link\" id=\"docs-link\" href=\"https://docs.example.org/\">Docs</a></li>{% endblock %}\n\
         {% block footer %}<footer id=\"uni-footer\">{{ user.name if user else 'guest' }} · {{ user.server_url('') if user else '' }} · {{ user.all_spawners(include_default=False)|length if user else 0 }}</footer>{% endblock %}\n",
    )
    .unwrap();
    std::fs::write(
        custom.join("404.html"),
        "{% extends \"error.html\" %}{% block error_detail %}<p id=\"uni-404\">Lost? {{ status_code }}</p>{% endblock %}",
    )
    .unwrap();
    let config = format!(
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\n\
         c.ConfigurableHTTPProxy.should_start = False\nc.JupyterHub.authenticator_class = 'dummy'\n\
         c.DummyAuthenticator.password = '{}'\n\
         c.JupyterHub.template_paths = ['custom-templates']\n\
         c.JupyterHub.template_vars = {{'institution': 'Example <University>', 'announcement': '<strong id=\"ann\">Maintenance Friday</strong>', 'announcement_login': ''}}\n",
        crate::pages::PASSWORD
    );
    std::fs::write(dir.path().join("jupyterhub_config.py"), config).unwrap();
    let hub = Hub::start(dir.path());

    let mut b = Browser::default();
    let login = b.get(&hub, "/hub/login");
    assert_eq!(login.status, 200);
    assert!(
        login
            .body
            .contains("<div id=\"uni-banner\">Welcome to Example &lt;University&gt;</div>"),
        "{}",
        login.body
    );
    assert!(
        login.body.contains("id=\"login-form\""),
        "the stock form is still there"
    );
    assert!(
        !login.body.contains("id=\"ann\""),
        "announcement_login = '' hides the announcement"
    );
    assert!(
        login.body.contains("guest"),
        "the custom page.html is the base of the login page"
    );

    let r = b.login(&hub, "amy", None);
    assert_eq!(r.status, 302);
    let home = b.get(&hub, "/hub/home");
    assert!(home.body.contains("id=\"docs-link\""), "{}", home.body);
    assert!(
        home.body
            .contains("<strong id=\"ann\">Maintenance Friday</strong>"),
        "announcements are HTML from the config"
    );
    assert!(
        home.body
            .contains("<footer id=\"uni-footer\">amy · &#x2f;user&#x2f;amy&#x2f; · 0</footer>"),
        "{}",
        home.body
    );

    let missing = b.get(&hub, "/hub/no-such-page");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<p id=\"uni-404\">Lost? 404</p>"),
        "{}",
        missing.body
    );
}

#[test]
fn a_broken_custom_template_stops_the_hub_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("t")).unwrap();
    std::fs::write(
        dir.path().join("t/page.html"),
        "<html>\n{% block main %}\n{% if %}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.template_paths = ['t']\nc.ConfigurableHTTPProxy.should_start = False\nc.JupyterHub.hub_port = 0\n",
    )
    .unwrap();
    let out = crate::oxhub(dir.path(), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("page.html:3"), "{err}");
}

/// `profile_list` on the spawn page: KubeSpawner's form, its fields becoming `user_options`,
/// and options the profiles do not allow refused with the form shown again.
#[test]
fn profile_list_is_the_options_form() {
    let profiles = "c.Spawner.profile_list = [\
        {'display_name': 'Small <CPU>', 'description': 'one core', 'kubespawner_override': {'cpu_limit': 1}},\
        {'display_name': 'GPU', 'slug': 'gpu', 'profile_options': {'image': {'display_name': 'Image', 'choices': {\
            'minimal': {'display_name': 'Minimal'}, 'scipy': {'display_name': 'SciPy', 'default': True}},\
            'unlisted_choice': {'enabled': True, 'validation_regex': 'quay\\\\.io/', 'validation_message': 'Images come from quay.io'}}}}]\n\
        c.Spawner.cmd = ['/bin/sleep', '600']\nc.Spawner.http_timeout = 2\nc.Spawner.start_timeout = 5\n";
    let (_dir, hub) = hub(profiles);
    let mut b = logged_in(&hub, "amy");
    let page = b.get(&hub, "/hub/spawn");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("id=\"profile-item-small-cpu\" value=\"small-cpu\" checked"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<strong>Small &lt;CPU&gt;</strong>"));
    assert!(page.body.contains("name=\"profile-option-gpu--image\""));
    assert!(page
        .body
        .contains("<option value=\"scipy\" selected>SciPy</option>"));
    assert!(page
        .body
        .contains("data-name=\"profile-option-gpu--image--unlisted-choice\""));

    let xsrf = Browser::form_xsrf(&page);
    let post = |b: &mut Browser, fields: &str| {
        b.send(
            &hub,
            "POST",
            "/hub/spawn",
            Some(&format!("_xsrf={}&{fields}", encode(&xsrf))),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
    };
    let refused = post(
        &mut b,
        "profile=gpu&profile-option-gpu--image--unlisted-choice=docker.io%2Fx",
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("Error: Images come from quay.io"),
        "{}",
        refused.body
    );
    let refused = post(&mut b, "profile=tpu");
    assert!(
        refused
            .body
            .contains("No such profile: tpu. Options include: small-cpu, gpu"),
        "{}",
        refused.body
    );

    let started = post(
        &mut b,
        "profile=gpu&profile-option-gpu--image=minimal&profile-option-small-cpu--x=y",
    );
    assert_eq!(started.status, 302, "{}", started.body);
    let mut api = Browser::default();
    let auth = format!("token {ADMIN_TOKEN}");
    let user = api.send(
        &hub,
        "GET",
        "/hub/api/users/amy?include_stopped_servers=1",
        None,
        &[("Authorization", &auth)],
    );
    let model: serde_json::Value = serde_json::from_str(&user.body).unwrap();
    assert_eq!(
        model["servers"][""]["user_options"],
        serde_json::json!({"profile": "gpu", "image": "minimal"}),
        "{}",
        user.body
    );
    // The REST API is held to the same profiles.
    let bad = api.send(
        &hub,
        "POST",
        "/hub/api/users/bob/server",
        Some("{\"profile\": \"nope\"}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
    );
    assert!(
        bad.status == 400 || bad.status == 404,
        "{} {}",
        bad.status,
        bad.body
    );
}
