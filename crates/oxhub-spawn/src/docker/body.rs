//! What DockerSpawner 14.0.0 asks the Docker API to create for one server, as data: the
//! container's name, its create body (`Env`, `Cmd`, `ExposedPorts`, `Volumes`, and the
//! `HostConfig` with binds, limits, port bindings and network), and the translation of
//! docker-py's keyword arguments (`extra_create_kwargs`, `extra_host_config`) into API fields.
//! Pure functions: nothing here talks to Docker.

use super::{DockerSettings, SystemUser};
use crate::process::account;
use crate::template::{format_named, Vars};
use oxhub_plugin::spawn::{SpawnError, SpawnRequest, SERVICE_URL_VAR};
use serde_json::{json, Map, Value};

/// The label that carries the spawn's nonce, so a spawn the hub never finished recording is
/// found and stopped.
pub const NONCE_LABEL: &str = "org.jupyter.oxhub.spawn-nonce";

pub use crate::template::escape;

/// The fields of DockerSpawner's templates (`name_template`, volumes, extra settings).
pub fn template_vars(settings: &DockerSettings, request: &SpawnRequest, image: &str) -> Vars {
    let mut vars = Vars::new();
    vars.insert("username".into(), json!(escape(&request.user)));
    vars.insert("safe_username".into(), json!(escape(&request.user)));
    vars.insert("raw_username".into(), json!(request.user));
    vars.insert(
        "servername".into(),
        json!(escape(&request.server.to_lowercase())),
    );
    vars.insert("raw_servername".into(), json!(request.server));
    vars.insert("imagename".into(), json!(image.replace(['/', ':'], "-")));
    vars.insert("prefix".into(), json!(settings.prefix));
    vars
}

/// The container's name: `name_template`, by default `{prefix}-{username}` and, for a named
/// server, `{prefix}-{username}--{servername}`.
pub fn container_name(
    settings: &DockerSettings,
    request: &SpawnRequest,
    image: &str,
) -> Result<String, SpawnError> {
    let template = match (&settings.name_template, request.server.is_empty()) {
        (Some(t), _) => t.as_str(),
        (None, true) => "{prefix}-{username}",
        (None, false) => "{prefix}-{username}--{servername}",
    };
    format_named(template, &template_vars(settings, request, image))
        .map_err(|e| SpawnError::Invalid(format!("DockerSpawner.name_template: {e}")))
}

/// The image a start runs: the one chosen in `user_options` (checked against
/// `allowed_images`), else the profile's, else `image`.
pub fn chosen_image(
    settings: &DockerSettings,
    request: &SpawnRequest,
) -> Result<String, SpawnError> {
    let asked = request
        .user_options
        .get("image")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(asked) = asked {
        return match &settings.allowed_images {
            super::AllowedImages::Any => Ok(asked.to_owned()),
            super::AllowedImages::Listed(map) if map.is_empty() => Err(SpawnError::Invalid(
                "Specifying image to launch is not allowed".into(),
            )),
            super::AllowedImages::Listed(map) => map.get(asked).cloned().ok_or_else(|| {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                SpawnError::Invalid(format!(
                    "Image {asked} not in allowed list: {}",
                    keys.join(", ")
                ))
            }),
        };
    }
    if let Some(image) = request.overrides.get("image").and_then(Value::as_str) {
        return Ok(image.to_owned());
    }
    Ok(settings.image.clone())
}

/// `volumes` and `read_only_volumes` as Docker binds, `"<host or volume>:<path>:<mode>"`,
/// with their container paths.
pub fn binds(settings: &DockerSettings, vars: &Vars) -> Result<Vec<(String, String)>, SpawnError> {
    let fmt = |what: &str, text: &str| {
        format_named(text, vars)
            .map_err(|e| SpawnError::Invalid(format!("DockerSpawner.{what}: {e}")))
    };
    let mut out = Vec::new();
    for (host, spec) in &settings.volumes {
        let (bind, mode, propagation) = match spec {
            Value::String(path) => (path.clone(), "rw".to_owned(), None),
            Value::Object(m) => {
                let bind = m.get("bind").and_then(Value::as_str).ok_or_else(|| {
                    SpawnError::Invalid(format!(
                        "DockerSpawner.volumes[{host:?}] has no \"bind\" path"
                    ))
                })?;
                let mode = m.get("mode").and_then(Value::as_str).unwrap_or("rw");
                let propagation = m
                    .get("propagation")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                (bind.to_owned(), mode.to_owned(), propagation)
            }
            other => {
                return Err(SpawnError::Invalid(format!(
                    "DockerSpawner.volumes[{host:?}] must be a path or a dict, not {other}"
                )))
            }
        };
        if !["rw", "ro", "z", "Z"].contains(&mode.as_str()) {
            return Err(SpawnError::Invalid(format!(
                "DockerSpawner.volumes[{host:?}]: mode {mode:?} is not one of rw, ro, z, Z"
            )));
        }
        let mut mode = mode;
        if let Some(p) = propagation.filter(|p| {
            [
                "shared", "rshared", "slave", "rslave", "private", "rprivate",
            ]
            .contains(&p.as_str())
        }) {
            mode = format!("{mode},{p}");
        }
        let path = fmt("volumes", &bind)?;
        out.push((format!("{}:{path}:{mode}", fmt("volumes", host)?), path));
    }
    for (host, path) in &settings.read_only_volumes {
        let path = fmt("read_only_volumes", path)?;
        out.push((
            format!("{}:{path}:ro", fmt("read_only_volumes", host)?),
            path,
        ));
    }
    Ok(out)
}

/// Strings formatted with the template fields, keys and values, recursively; a string that
/// does not format is kept as it is (DockerSpawner renders these leniently).
fn render_leniently(value: &Value, vars: &Vars) -> Value {
    let text = |s: &str| format_named(s, vars).unwrap_or_else(|_| s.to_owned());
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_leniently(v, vars)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (text(k), render_leniently(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `b` merged into `a`: objects key by key, anything else replaced.
fn deep_merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, b) => *slot = b,
    }
}

/// docker-py's byte sizes: a number, or a string with an optional b/k/m/g suffix (1024ⁿ).
pub fn bytes(what: &str, value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{what}: {n} is not a whole number of bytes")),
        Value::String(s) => {
            let s = s.trim();
            let (digits, unit) = match s.char_indices().last() {
                Some((at, c)) if c.is_ascii_alphabetic() => (&s[..at], c.to_ascii_lowercase()),
                _ => (s, 'b'),
            };
            let factor: i64 = match unit {
                'b' => 1,
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                _ => return Err(format!("{what}: unit of {s:?} is not b, k, m or g")),
            };
            digits
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|n| n.checked_mul(factor))
                .ok_or_else(|| format!("{what}: {s:?} is not a size"))
        }
        other => Err(format!("{what}: {other} is not a size")),
    }
}

/// The create body's fields for docker-py's `create_container` keyword arguments.
const CREATE_KWARGS: &[(&str, &str)] = &[
    ("hostname", "Hostname"),
    ("domainname", "Domainname"),
    ("user", "User"),
    ("working_dir", "WorkingDir"),
    ("labels", "Labels"),
    ("stop_signal", "StopSignal"),
    ("stop_timeout", "StopTimeout"),
    ("tty", "Tty"),
    ("stdin_open", "OpenStdin"),
    ("network_disabled", "NetworkDisabled"),
    ("mac_address", "MacAddress"),
    ("entrypoint", "Entrypoint"),
    ("command", "Cmd"),
    ("image", "Image"),
    ("healthcheck", "Healthcheck"),
    ("networking_config", "NetworkingConfig"),
];

/// The `HostConfig` fields for docker-py's `create_host_config` keyword arguments whose values
/// pass through unchanged.
const HOST_KWARGS: &[(&str, &str)] = &[
    ("cpu_period", "CpuPeriod"),
    ("cpu_quota", "CpuQuota"),
    ("cpu_shares", "CpuShares"),
    ("cpuset_cpus", "CpusetCpus"),
    ("nano_cpus", "NanoCpus"),
    ("network_mode", "NetworkMode"),
    ("privileged", "Privileged"),
    ("dns", "Dns"),
    ("dns_search", "DnsSearch"),
    ("cap_add", "CapAdd"),
    ("cap_drop", "CapDrop"),
    ("security_opt", "SecurityOpt"),
    ("auto_remove", "AutoRemove"),
    ("init", "Init"),
    ("read_only", "ReadonlyRootfs"),
    ("group_add", "GroupAdd"),
    ("pids_limit", "PidsLimit"),
    ("userns_mode", "UsernsMode"),
    ("ipc_mode", "IpcMode"),
    ("pid_mode", "PidMode"),
    ("restart_policy", "RestartPolicy"),
    ("sysctls", "Sysctls"),
    ("runtime", "Runtime"),
    ("oom_kill_disable", "OomKillDisable"),
    ("volumes_from", "VolumesFrom"),
    ("binds", "Binds"),
    ("port_bindings", "PortBindings"),
    ("storage_opt", "StorageOpt"),
    ("log_config", "LogConfig"),
];

/// Byte-size `HostConfig` arguments.
const HOST_SIZES: &[(&str, &str)] = &[
    ("mem_limit", "Memory"),
    ("memswap_limit", "MemorySwap"),
    ("mem_reservation", "MemoryReservation"),
    ("shm_size", "ShmSize"),
];

/// `"/dev/x"`, `"/dev/x:/dev/y"` or `"/dev/x:/dev/y:rwm"` as a Docker device mapping.
fn device(spec: &Value) -> Result<Value, String> {
    let Some(s) = spec.as_str() else {
        return Ok(spec.clone());
    };
    let parts: Vec<&str> = s.split(':').collect();
    let (host, inside, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => {
            return Err(format!(
                "devices: {s:?} is not host[:container[:permissions]]"
            ))
        }
    };
    Ok(json!({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms}))
}

/// A docker-py dict with snake_case keys (`device_ids`) as the API's PascalCase (`DeviceIDs`).
fn pascal(value: &Value, special: &[(&str, &str)]) -> Value {
    let Value::Object(m) = value else {
        return value.clone();
    };
    Value::Object(
        m.iter()
            .map(|(k, v)| {
                let key = special
                    .iter()
                    .find(|(from, _)| from == k)
                    .map(|(_, to)| (*to).to_owned())
                    .unwrap_or_else(|| {
                        k.split('_')
                            .map(|w| {
                                let mut c = w.chars();
                                c.next()
                                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                                    .unwrap_or_default()
                            })
                            .collect()
                    });
                (key, v.clone())
            })
            .collect(),
    )
}

fn each(value: &Value, f: impl Fn(&Value) -> Result<Value, String>) -> Result<Value, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(f)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Err(format!("expected a list, got {other}")),
    }
}

/// docker-py's `create_host_config(**kwargs)` as `HostConfig` fields. An argument oxhub does
/// not know is an error, not silently dropped.
pub fn host_config_fields(kwargs: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (k, v) in kwargs {
        let err = |e: String| format!("extra_host_config[{k:?}]: {e}");
        if let Some((_, field)) = HOST_KWARGS.iter().find(|(from, _)| from == k) {
            out.insert((*field).to_owned(), v.clone());
        } else if let Some((_, field)) = HOST_SIZES.iter().find(|(from, _)| from == k) {
            out.insert((*field).to_owned(), json!(bytes(k, v).map_err(err)?));
        } else {
            let value = match k.as_str() {
                "extra_hosts" => match v {
                    Value::Object(m) => Value::Array(
                        m.iter()
                            .map(|(h, ip)| {
                                json!(format!("{h}:{}", ip.as_str().unwrap_or_default()))
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "links" => match v {
                    Value::Object(m) => Value::Array(
                        m.iter()
                            .map(|(n, a)| json!(format!("{n}:{}", a.as_str().unwrap_or(n))))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "devices" => each(v, device).map_err(err)?,
                "device_requests" => {
                    each(v, |d| Ok(pascal(d, &[("device_ids", "DeviceIDs")]))).map_err(err)?
                }
                "ulimits" | "mounts" => each(v, |d| Ok(pascal(d, &[]))).map_err(err)?,
                "tmpfs" => match v {
                    Value::Array(items) => Value::Object(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| match s.split_once(':') {
                                Some((path, opts)) => (path.to_owned(), json!(opts)),
                                None => (s.to_owned(), json!("")),
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                _ => {
                    return Err(format!(
                        "extra_host_config: {k:?} is not supported by oxhub"
                    ))
                }
            };
            let field = match k.as_str() {
                "extra_hosts" => "ExtraHosts",
                "links" => "Links",
                "devices" => "Devices",
                "device_requests" => "DeviceRequests",
                "ulimits" => "Ulimits",
                "mounts" => "Mounts",
                _ => "Tmpfs",
            };
            out.insert(field.to_owned(), value);
        }
    }
    Ok(out)
}

/// docker-py's `create_container(**kwargs)` as create-body fields (`host_config` merged into
/// `HostConfig`).
pub fn create_fields(kwargs: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (k, v) in kwargs {
        if let Some((_, field)) = CREATE_KWARGS.iter().find(|(from, _)| from == k) {
            out.insert((*field).to_owned(), v.clone());
        } else if k == "environment" {
            let env = match v {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| {
                        json!(format!(
                            "{k}={}",
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        ))
                    })
                    .collect(),
                Value::Array(items) => items.clone(),
                other => {
                    return Err(format!(
                        "extra_create_kwargs[\"environment\"]: {other} is not a dict or list"
                    ))
                }
            };
            out.insert("Env".into(), Value::Array(env));
        } else if k == "host_config" {
            let Value::Object(m) = v else {
                return Err("extra_create_kwargs[\"host_config\"] must be a dict".into());
            };
            out.insert("HostConfig".into(), Value::Object(host_config_fields(m)?));
        } else {
            return Err(format!(
                "extra_create_kwargs: {k:?} is not supported by oxhub"
            ));
        }
    }
    Ok(out)
}

/// Where the server listens inside the container: DockerSpawner's `ip` and `port`.
pub fn service_url(settings: &DockerSettings, request: &SpawnRequest) -> String {
    request
        .env_var(SERVICE_URL_VAR)
        .map(str::to_owned)
        .unwrap_or_else(|| request.service_url(&settings.ip, settings.port))
}

/// The create body of the server's container. `image_cmd` is the image's `Cmd`, used when
/// `Spawner.cmd` is empty (and then only if there are `args` to add to it).
pub fn create_body(
    settings: &DockerSettings,
    request: &SpawnRequest,
    image: &str,
    image_cmd: Option<&[String]>,
) -> Result<Value, SpawnError> {
    let vars = template_vars(settings, request, image);
    let invalid = SpawnError::Invalid;
    let mut env: Vec<(String, String)> = request.env.clone();
    let mut set = |k: &str, v: String| {
        env.retain(|(key, _)| key != k);
        env.push((k.to_owned(), v));
    };
    set(SERVICE_URL_VAR, service_url(settings, request));
    set("JUPYTER_IMAGE_SPEC", image.to_owned());
    let mut user = None;
    let mut working_dir = None;
    let mut binds = binds(settings, &vars)?;
    if let Some(su) = &settings.system_user {
        system_user(
            su,
            request,
            &mut set,
            &mut binds,
            &mut user,
            &mut working_dir,
        )?;
    }
    let cmd: Option<Vec<String>> = if !request.cmd.is_empty() {
        Some(request.cmd.iter().chain(&request.args).cloned().collect())
    } else if !request.args.is_empty() {
        Some(
            image_cmd
                .unwrap_or_default()
                .iter()
                .chain(&request.args)
                .cloned()
                .collect(),
        )
    } else {
        None
    };
    let port_key = format!("{}/tcp", settings.port);
    let mut volumes: Vec<&str> = binds.iter().map(|(_, path)| path.as_str()).collect();
    volumes.sort_unstable();
    volumes.dedup();
    let mut host = Map::new();
    host.insert(
        "Binds".into(),
        json!(binds.iter().map(|(b, _)| b).collect::<Vec<_>>()),
    );
    host.insert("AutoRemove".into(), json!(settings.remove));
    if !settings.links.is_empty() {
        host.insert(
            "Links".into(),
            json!(settings
                .links
                .iter()
                .map(|(n, a)| format!("{n}:{a}"))
                .collect::<Vec<_>>()),
        );
    }
    if let Some(mem) = request.resources.mem_limit {
        host.insert("Memory".into(), json!(mem));
    }
    let extra_host = render_leniently(&Value::Object(settings.extra_host_config.clone()), &vars);
    let extra_host = match &extra_host {
        Value::Object(m) => host_config_fields(m).map_err(invalid)?,
        _ => Map::new(),
    };
    if let Some(cpus) = request.resources.cpu_limit {
        let period = extra_host
            .get("CpuPeriod")
            .and_then(Value::as_i64)
            .unwrap_or(100_000);
        host.insert("CpuPeriod".into(), json!(period));
        // int(cpu_limit * period), as DockerSpawner truncates it.
        host.insert("CpuQuota".into(), json!((cpus * period as f64) as i64));
    }
    // Published ports mean nothing on the host's network (Docker discards them).
    if !settings.internal_ip() && settings.network_mode() != "host" {
        host.insert(
            "PortBindings".into(),
            json!({ &port_key: [{"HostIp": settings.host_ip, "HostPort": ""}] }),
        );
    }
    if !extra_host.contains_key("NetworkMode") {
        host.insert("NetworkMode".into(), json!(settings.network_name));
    }
    let mut host = Value::Object(host);
    deep_merge(&mut host, Value::Object(extra_host));
    let mut body = json!({
        "Image": image,
        "Env": env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "ExposedPorts": { &port_key: {} },
        "Volumes": volumes.iter().map(|v| ((*v).to_owned(), json!({}))).collect::<Map<_, _>>(),
        "Labels": { NONCE_LABEL: request.spawn_id },
        "HostConfig": host,
    });
    if let Some(cmd) = cmd {
        body["Cmd"] = json!(cmd);
    }
    if let Some(user) = user {
        body["User"] = json!(user);
    }
    if let Some(dir) = working_dir {
        body["WorkingDir"] = json!(dir);
    }
    let extra = render_leniently(&Value::Object(settings.extra_create_kwargs.clone()), &vars);
    if let Value::Object(m) = &extra {
        deep_merge(&mut body, Value::Object(create_fields(m).map_err(invalid)?));
    }
    Ok(body)
}

/// SystemUserSpawner: the user's home bound into the container, and the container run as
/// the user's uid and gid (or as root, with the image switching to `NB_UID`).
fn system_user(
    su: &SystemUser,
    request: &SpawnRequest,
    set: &mut impl FnMut(&str, String),
    binds: &mut Vec<(String, String)>,
    user: &mut Option<String>,
    working_dir: &mut Option<String>,
) -> Result<(), SpawnError> {
    let mut vars = Vars::new();
    vars.insert("username".into(), json!(request.user));
    let acct = account(&request.user);
    let host_home = match &su.host_homedir_format_string {
        Some(t) if !t.is_empty() => format_named(t, &vars)
            .map_err(|e| SpawnError::Invalid(format!("host_homedir_format_string: {e}")))?,
        _ => acct
            .as_ref()
            .map(|a| a.home.clone())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                SpawnError::Invalid(format!("no home directory for {}", request.user))
            })?,
    };
    let home = format_named(&su.image_homedir_format_string, &vars)
        .map_err(|e| SpawnError::Invalid(format!("image_homedir_format_string: {e}")))?;
    let Some(acct) = acct else {
        return Err(SpawnError::Invalid(format!(
            "SystemUserSpawner: {} has no system account on the hub's host",
            request.user
        )));
    };
    binds.push((format!("{host_home}:{home}:rw"), home.clone()));
    set("USER", request.user.clone());
    set("NB_USER", request.user.clone());
    set("USER_ID", acct.uid.to_string());
    set("NB_UID", acct.uid.to_string());
    set("HOME", home.clone());
    set("NB_GID", acct.gid.to_string());
    *user = Some(if su.run_as_root {
        "0".to_owned()
    } else {
        format!("{}:{}", acct.uid, acct.gid)
    });
    *working_dir = Some(home);
    Ok(())
}
