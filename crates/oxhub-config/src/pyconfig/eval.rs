//! The statement and expression walker.

use super::env::{Environment, PathKind};
use super::format;
use super::lines::LineIndex;
use crate::error::{ConfigError, ErrorKind, Location, Origin};
use crate::raw::RawConfig;
use crate::traits::{self, Dflt};
use crate::value::Value;
use num_traits::ToPrimitive;
use rustpython_parser::ast::{self, Constant, Expr, Ranged, Stmt};
use std::collections::HashMap;

const MAX_STEPS: u64 = 2_000_000;
const MAX_DEPTH: u32 = 100;
/// Largest string, bytes or collection (in elements) one operation may build.
const MAX_LEN: usize = 16 << 20;

/// Plug-in packages whose classes a config may import by name; the name becomes the class's
/// import path, which the class traits map to built-in implementations.
const PLUGIN_PACKAGES: &[&str] = &[
    "jupyterhub",
    "oauthenticator",
    "ldapauthenticator",
    "kubespawner",
    "dockerspawner",
    "batchspawner",
    "nativeauthenticator",
    "jupyterhub_idle_culler",
];

/// An evaluated expression: a plain value, or one of the few objects a config file may use.
#[derive(Debug, Clone)]
enum Obj {
    V(Value),
    /// The `c` object.
    Config,
    /// `c.Class` or `c['Class']`.
    Section(String),
    /// `os`, `os.path`, `sys`, `json`, `pathlib`.
    Module(&'static str),
    /// A builtin or module function, by its Python name (`len`, `os.path.join`, `get_config`).
    Func(&'static str),
    /// `os.environ`.
    Environ,
    /// A `pathlib.Path`.
    Path(String),
    /// A (sub)package of a plug-in package, e.g. `oauthenticator.github`.
    Package(String),
    /// `str`, `bytes`, ... used as a receiver (`bytes.fromhex`, `str.join`).
    Type(&'static str),
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// Where an assignment or an in-place method call lands.
enum Place {
    Local(String, Vec<Value>),
    Trait(String, String, Vec<Value>),
}

pub struct Machine<'a> {
    file: &'a str,
    index: &'a LineIndex,
    env: &'a dyn Environment,
    config: &'a mut RawConfig,
    locals: HashMap<String, Obj>,
    steps: u64,
    depth: u32,
}

type R<T> = Result<T, ConfigError>;
/// Positional and keyword arguments of a call.
type Args = (Vec<Value>, Vec<(String, Value)>);

impl<'a> Machine<'a> {
    pub fn new(
        file: &'a str,
        index: &'a LineIndex,
        env: &'a dyn Environment,
        config: &'a mut RawConfig,
    ) -> Self {
        let mut locals = HashMap::new();
        locals.insert("c".to_owned(), Obj::Config);
        Machine {
            file,
            index,
            env,
            config,
            locals,
            steps: 0,
            depth: 0,
        }
    }

    /// Bind a module-level name before the file runs (`__file__`).
    pub fn set_local(&mut self, name: &str, value: Value) {
        self.locals.insert(name.to_owned(), Obj::V(value));
    }

    pub fn local(&self, name: &str) -> Option<Value> {
        match self.locals.get(name) {
            Some(Obj::V(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn run(&mut self, suite: &[Stmt]) -> R<()> {
        match self.block(suite)? {
            Flow::Normal => Ok(()),
            Flow::Break | Flow::Continue => Ok(()),
        }
    }

    // ---- errors ----

    fn loc(&self, node: &impl Ranged) -> Location {
        self.index.location(self.file, node.start().to_usize())
    }

    fn unsupported(&self, node: &impl Ranged, construct: &str, hint: &str) -> ConfigError {
        ConfigError::new(
            ErrorKind::Unsupported,
            Some(self.loc(node)),
            "not supported by the native config evaluator",
        )
        .construct(construct)
        .hint(hint)
    }

    fn runtime(&self, node: &impl Ranged, message: impl Into<String>) -> ConfigError {
        ConfigError::new(ErrorKind::Runtime, Some(self.loc(node)), message)
    }

    fn step(&mut self, node: &impl Ranged) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.runtime(node, format!("evaluation stopped after {MAX_STEPS} steps (a loop too large for a config file?)")));
        }
        Ok(())
    }

    fn check_len(&self, node: &impl Ranged, len: usize) -> R<()> {
        if len > MAX_LEN {
            return Err(self.runtime(
                node,
                format!("value of {len} elements is over the limit of {MAX_LEN}"),
            ));
        }
        Ok(())
    }

    // ---- statements ----

    fn block(&mut self, stmts: &[Stmt]) -> R<Flow> {
        for stmt in stmts {
            match self.stmt(stmt)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn stmt(&mut self, stmt: &Stmt) -> R<Flow> {
        self.step(stmt)?;
        match stmt {
            Stmt::Expr(s) => {
                if let Expr::Constant(_) = &*s.value {
                    return Ok(Flow::Normal); // docstrings and bare literals
                }
                self.expr_stmt(&s.value)?;
            }
            Stmt::Assign(s) => {
                let value = self.eval(&s.value)?;
                for target in &s.targets {
                    self.assign(target, value.clone(), stmt)?;
                }
            }
            Stmt::AnnAssign(s) => {
                if let Some(v) = &s.value {
                    let value = self.eval(v)?;
                    self.assign(&s.target, value, stmt)?;
                }
            }
            Stmt::AugAssign(s) => {
                let current = self.eval_target_for_update(&s.target)?;
                let rhs = self.eval(&s.value)?;
                let result = self.binop(&*s.value, s.op, Obj::V(current), rhs)?;
                self.assign(&s.target, result, stmt)?;
            }
            Stmt::If(s) => {
                let test = self.eval_value(&s.test)?;
                return if test.truthy() { self.block(&s.body) } else { self.block(&s.orelse) };
            }
            Stmt::For(s) => {
                let iterable = self.eval(&s.iter)?;
                let items = self.iterate(&*s.iter, iterable)?;
                let mut broke = false;
                for item in items {
                    self.bind(&s.target, Obj::V(item), stmt)?;
                    match self.block(&s.body)? {
                        Flow::Break => {
                            broke = true;
                            break;
                        }
                        Flow::Continue | Flow::Normal => {}
                    }
                }
                if !broke {
                    return self.block(&s.orelse);
                }
            }
            Stmt::Break(_) => return Ok(Flow::Break),
            Stmt::Continue(_) => return Ok(Flow::Continue),
            Stmt::Pass(_) => {}
            Stmt::Assert(s) => {
                if !self.eval_value(&s.test)?.truthy() {
                    let msg = match &s.msg {
                        Some(m) => self.eval_value(m)?.as_str().map(str::to_owned).unwrap_or_default(),
                        None => String::new(),
                    };
                    return Err(self.runtime(stmt, format!("assertion failed {msg}").trim_end().to_owned()));
                }
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    self.import(alias.name.as_str(), alias.asname.as_ref().map(|a| a.as_str()), stmt)?;
                }
            }
            Stmt::ImportFrom(s) => self.import_from(s, stmt)?,
            Stmt::Delete(s) => {
                for target in &s.targets {
                    match target {
                        Expr::Name(n) => {
                            self.locals.remove(n.id.as_str());
                        }
                        _ => return Err(self.unsupported(target, "del", "only `del name` is supported")),
                    }
                }
            }
            Stmt::FunctionDef(_) | Stmt::AsyncFunctionDef(_) => {
                return Err(self.unsupported(
                    stmt,
                    "def",
                    "hook functions are not supported: use the declarative form (a command for pre_spawn_hook/post_stop_hook, an HTML string for options_form, an int for named_server_limit_per_user), or install python3 so the Python bridge can import this file's plain values",
                ))
            }
            Stmt::ClassDef(_) => {
                return Err(self.unsupported(
                    stmt,
                    "class",
                    "subclassing authenticators or spawners is not supported: use the built-in class's settings (e.g. username_claim, auth_state_groups_key, allowed_groups)",
                ))
            }
            Stmt::With(_) | Stmt::AsyncWith(_) => {
                return Err(self.unsupported(stmt, "with", "file I/O is not supported: put the value in the config file or an environment variable"))
            }
            Stmt::While(_) => return Err(self.unsupported(stmt, "while", "use a for loop over a list")),
            Stmt::Try(_) | Stmt::TryStar(_) => {
                return Err(self.unsupported(stmt, "try", "use if/else with `\"X\" in os.environ` or os.path.exists()"))
            }
            Stmt::Raise(_) => return Err(self.unsupported(stmt, "raise", "remove it; the hub reports invalid values itself")),
            Stmt::Global(_) | Stmt::Nonlocal(_) => return Err(self.unsupported(stmt, "global", "remove it")),
            Stmt::Return(_) => return Err(self.runtime(stmt, "'return' outside function")),
            _ => return Err(self.unsupported(stmt, "this statement", "use assignments, if and for")),
        }
        Ok(Flow::Normal)
    }

    fn import(&mut self, name: &str, asname: Option<&str>, node: &Stmt) -> R<()> {
        let bound = asname.unwrap_or_else(|| name.split('.').next().unwrap_or(name));
        let root = name.split('.').next().unwrap_or(name);
        let obj = match (name, asname) {
            ("os", _) | ("os.path", None) => Obj::Module("os"),
            ("os.path", Some(_)) => Obj::Module("os.path"),
            ("sys", _) => Obj::Module("sys"),
            ("json", _) => Obj::Module("json"),
            ("pathlib", _) => Obj::Module("pathlib"),
            _ if PLUGIN_PACKAGES.contains(&root) => Obj::Package(if asname.is_some() {
                name.to_owned()
            } else {
                root.to_owned()
            }),
            _ => return Err(self.unknown_module(node, name)),
        };
        self.locals.insert(bound.to_owned(), obj);
        Ok(())
    }

    fn unknown_module(&self, node: &impl Ranged, module: &str) -> ConfigError {
        self.unsupported(
            node,
            &format!("import {module}"),
            &format!("the module `{module}` is not available to the native evaluator (it knows os, os.path, sys, json, pathlib and the JupyterHub plug-in packages); install python3 so the Python bridge can run this file"),
        )
    }

    fn import_from(&mut self, s: &ast::StmtImportFrom, node: &Stmt) -> R<()> {
        let module = s.module.as_ref().map(|m| m.as_str()).unwrap_or("");
        let root = module.split('.').next().unwrap_or(module);
        for alias in &s.names {
            let name = alias.name.as_str();
            let bound = alias
                .asname
                .as_ref()
                .map_or(name, |a| a.as_str())
                .to_owned();
            let obj = match (module, name) {
                ("os", "environ") => Obj::Environ,
                ("os", "path") => Obj::Module("os.path"),
                ("os", "getenv") => Obj::Func("os.getenv"),
                ("os.path", f) => match os_path_func(f) {
                    Some(func) => Obj::Func(func),
                    None => return Err(self.unknown_module(node, &format!("{module}.{f}"))),
                },
                ("pathlib", "Path") | ("pathlib", "PurePath") | ("pathlib", "PosixPath") => {
                    Obj::Func("pathlib.Path")
                }
                _ if name == "*" => {
                    return Err(self.unsupported(node, "import *", "import the names you use"))
                }
                _ if PLUGIN_PACKAGES.contains(&root) => {
                    Obj::V(Value::Class(format!("{module}.{name}")))
                }
                _ => return Err(self.unknown_module(node, module)),
            };
            self.locals.insert(bound, obj);
        }
        Ok(())
    }

    fn expr_stmt(&mut self, expr: &Expr) -> R<()> {
        if let Expr::Call(call) = expr {
            if let Expr::Attribute(attr) = &*call.func {
                if is_mutating_method(attr.attr.as_str()) {
                    if let Some(place) = self.place(&attr.value)? {
                        return self.mutate(place, attr.attr.as_str(), call, expr);
                    }
                }
            }
        }
        self.eval(expr).map(|_| ())
    }

    // ---- assignment ----

    fn assign(&mut self, target: &Expr, value: Obj, stmt: &Stmt) -> R<()> {
        match target {
            Expr::Name(_) | Expr::Tuple(_) | Expr::List(_) => self.bind(target, value, stmt),
            Expr::Attribute(_) | Expr::Subscript(_) => {
                let value = self.plain(target, value)?;
                let Some(place) = self.place(target)? else {
                    return Err(self.unsupported(
                        target,
                        "assignment to this target",
                        "assign to `c.Class.trait`, `c.Class.trait[key]` or a local name",
                    ));
                };
                self.write_place(place, value, target)
            }
            Expr::Starred(_) => {
                Err(self.unsupported(target, "starred assignment", "unpack into plain names"))
            }
            _ => Err(self.runtime(target, "cannot assign to this expression")),
        }
    }

    /// Bind a local name, unpacking tuples and lists.
    fn bind(&mut self, target: &Expr, value: Obj, stmt: &Stmt) -> R<()> {
        match target {
            Expr::Name(n) => {
                self.locals.insert(n.id.to_string(), value);
                Ok(())
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let value = self.plain(target, value)?;
                let items = self.iterate(target, Obj::V(value))?;
                if items.len() != elts.len() {
                    return Err(self.runtime(
                        target,
                        format!(
                            "cannot unpack {} values into {} names",
                            items.len(),
                            elts.len()
                        ),
                    ));
                }
                for (elt, item) in elts.iter().zip(items) {
                    self.assign(elt, Obj::V(item), stmt)?;
                }
                Ok(())
            }
            _ => self.assign(target, value, stmt),
        }
    }

    /// The place an attribute/subscript chain denotes, if it is a trait or a local.
    fn place(&mut self, expr: &Expr) -> R<Option<Place>> {
        match expr {
            Expr::Name(n) => match self.locals.get(n.id.as_str()) {
                Some(Obj::V(_)) => Ok(Some(Place::Local(n.id.to_string(), vec![]))),
                _ => Ok(None),
            },
            Expr::Attribute(a) => match self.eval(&a.value)? {
                Obj::Section(class) => Ok(Some(Place::Trait(class, a.attr.to_string(), vec![]))),
                _ => Ok(None),
            },
            Expr::Subscript(s) => {
                if let Expr::Slice(_) = &*s.slice {
                    return Err(self.unsupported(
                        expr,
                        "slice assignment",
                        "assign the whole value",
                    ));
                }
                let Some(mut place) = self.place(&s.value)? else {
                    return Ok(None);
                };
                let key = self.eval_value(&s.slice)?;
                match &mut place {
                    Place::Local(_, path) | Place::Trait(_, _, path) => path.push(key),
                }
                Ok(Some(place))
            }
            _ => Ok(None),
        }
    }

    fn origin(&self, node: &impl Ranged) -> Origin {
        Origin::File { at: self.loc(node) }
    }

    /// The current value of a trait for reading or in-place change: what was assigned, else the
    /// trait's default (traitlets applies `.append()` on an unset trait to its default).
    fn trait_current(&self, class: &str, name: &str, method_hint: Option<&str>) -> Value {
        if let Some(entry) = self.config.get(class, name) {
            return entry.value.clone();
        }
        if let Some(Dflt::Lit(lit)) = traits::lookup(class, name).map(|t| t.default) {
            if let Ok(v) = super::evaluate_expression(lit, "default") {
                if v != Value::None {
                    return v;
                }
            }
        }
        match method_hint {
            Some("update") | Some("setdefault") | Some("__setitem__") => Value::Dict(vec![]),
            Some("add") => Value::Set(vec![]),
            _ => Value::List(vec![]),
        }
    }

    fn write_place(&mut self, place: Place, value: Value, node: &Expr) -> R<()> {
        match place {
            Place::Local(name, path) => {
                if path.is_empty() {
                    self.locals.insert(name, Obj::V(value));
                    return Ok(());
                }
                let mut root = match self.locals.get(&name) {
                    Some(Obj::V(v)) => v.clone(),
                    _ => return Err(self.runtime(node, format!("name '{name}' is not defined"))),
                };
                self.set_path(&mut root, &path, value, node)?;
                self.locals.insert(name, Obj::V(root));
                Ok(())
            }
            Place::Trait(class, name, path) => {
                let origin = self.origin(node);
                if path.is_empty() {
                    self.config.set(&class, &name, value, origin);
                    return Ok(());
                }
                let mut root = self.trait_current(&class, &name, Some("__setitem__"));
                self.set_path(&mut root, &path, value, node)?;
                self.config.set(&class, &name, root, origin);
                Ok(())
            }
        }
    }

    fn set_path(&self, root: &mut Value, path: &[Value], value: Value, node: &Expr) -> R<()> {
        let Some((last, init)) = path.split_last() else {
            *root = value;
            return Ok(());
        };
        let mut cur = root;
        for key in init {
            cur = self.index_mut(cur, key, node)?;
        }
        match cur {
            Value::Dict(pairs) => {
                if !last.hashable() {
                    return Err(
                        self.runtime(node, format!("unhashable type: '{}'", last.type_name()))
                    );
                }
                Value::dict_set(pairs, last.clone(), value);
                Ok(())
            }
            Value::List(items) => {
                let i = self.list_index(items.len(), last, node)?;
                items[i] = value;
                Ok(())
            }
            other => Err(self.runtime(
                node,
                format!(
                    "'{}' object does not support item assignment",
                    other.type_name()
                ),
            )),
        }
    }

    fn index_mut<'v>(&self, cur: &'v mut Value, key: &Value, node: &Expr) -> R<&'v mut Value> {
        match cur {
            Value::Dict(pairs) => {
                let pos = pairs.iter().position(|(k, _)| k.py_eq(key));
                match pos {
                    Some(p) => Ok(&mut pairs[p].1),
                    None => Err(self.runtime(node, format!("KeyError: {}", key.repr()))),
                }
            }
            Value::List(items) => {
                let i = self.list_index(items.len(), key, node)?;
                Ok(&mut items[i])
            }
            other => Err(self.runtime(
                node,
                format!(
                    "'{}' object is not subscriptable for assignment",
                    other.type_name()
                ),
            )),
        }
    }

    fn list_index(&self, len: usize, key: &Value, node: &impl Ranged) -> R<usize> {
        let Value::Int(i) = key else {
            return Err(self.runtime(
                node,
                format!("list indices must be integers, not {}", key.type_name()),
            ));
        };
        let len_i = i64::try_from(len).unwrap_or(i64::MAX);
        let idx = if *i < 0 { len_i + i } else { *i };
        if idx < 0 || idx >= len_i {
            return Err(self.runtime(node, "list index out of range"));
        }
        usize::try_from(idx).map_err(|_| self.runtime(node, "list index out of range"))
    }

    fn eval_target_for_update(&mut self, target: &Expr) -> R<Value> {
        match self.place(target)? {
            Some(Place::Trait(class, name, path)) if path.is_empty() => {
                Ok(self.trait_current(&class, &name, None))
            }
            Some(_) | None => self.eval_value(target),
        }
    }

    /// `x.append(...)`, `c.X.y.update(...)`, ... on a local or a trait.
    fn mutate(&mut self, place: Place, method: &str, call: &ast::ExprCall, node: &Expr) -> R<()> {
        if !call.keywords.is_empty() {
            return Err(self.unsupported(
                node,
                "keyword arguments here",
                "pass positional arguments",
            ));
        }
        let args = call
            .args
            .iter()
            .map(|a| self.eval_value(a))
            .collect::<R<Vec<_>>>()?;
        let (mut root, path) = match &place {
            Place::Local(name, path) => match self.locals.get(name) {
                Some(Obj::V(v)) => (v.clone(), path.clone()),
                _ => return Err(self.runtime(node, format!("name '{name}' is not defined"))),
            },
            Place::Trait(class, name, path) => {
                (self.trait_current(class, name, Some(method)), path.clone())
            }
        };
        // `c.JupyterHub.update({...})` style: a section updated as a dict of traits.
        let mut target: &mut Value = &mut root;
        for key in &path {
            target = self.index_mut(target, key, node)?;
        }
        self.apply_method(target, method, args, node)?;
        match place {
            Place::Local(name, _) => {
                self.locals.insert(name, Obj::V(root));
            }
            Place::Trait(class, name, _) => {
                let origin = self.origin(node);
                self.config.set(&class, &name, root, origin);
            }
        }
        Ok(())
    }

    fn apply_method(
        &self,
        target: &mut Value,
        method: &str,
        args: Vec<Value>,
        node: &Expr,
    ) -> R<()> {
        let argc = args.len();
        let bad_args = || self.runtime(node, format!("{method}() got {argc} arguments"));
        let mut args = args.into_iter();
        match (target, method) {
            (Value::List(items), "append") => items.push(args.next().ok_or_else(bad_args)?),
            (Value::List(items), "extend") => {
                let more = self.iterate(node, Obj::V(args.next().ok_or_else(bad_args)?))?;
                items.extend(more);
            }
            (Value::List(items), "insert") => {
                let (Some(Value::Int(i)), Some(v)) = (args.next(), args.next()) else {
                    return Err(bad_args());
                };
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let at = if i < 0 { (len + i).max(0) } else { i.min(len) };
                items.insert(usize::try_from(at).unwrap_or(0), v);
            }
            (Value::List(items), "remove") => {
                let v = args.next().ok_or_else(bad_args)?;
                let pos = items
                    .iter()
                    .position(|x| x.py_eq(&v))
                    .ok_or_else(|| self.runtime(node, "list.remove(x): x not in list"))?;
                items.remove(pos);
            }
            (Value::List(items) | Value::Set(items), "clear") => items.clear(),
            (Value::Dict(pairs), "clear") => pairs.clear(),
            (Value::Set(items), "add") => {
                let v = args.next().ok_or_else(bad_args)?;
                if !v.hashable() {
                    return Err(self.runtime(node, format!("unhashable type: '{}'", v.type_name())));
                }
                Value::set_add(items, v);
            }
            (Value::Set(items), "update") | (Value::Set(items), "extend") => {
                for arg in args {
                    for v in self.iterate(node, Obj::V(arg))? {
                        Value::set_add(items, v);
                    }
                }
            }
            (Value::Set(items), "discard") | (Value::Set(items), "remove") => {
                let v = args.next().ok_or_else(bad_args)?;
                items.retain(|x| !x.py_eq(&v));
            }
            (Value::Dict(pairs), "update") => {
                for arg in args {
                    match arg {
                        Value::Dict(more) => {
                            for (k, v) in more {
                                Value::dict_set(pairs, k, v);
                            }
                        }
                        other => {
                            return Err(self.runtime(
                                node,
                                format!("dict.update() needs a dict, got {}", other.type_name()),
                            ))
                        }
                    }
                }
            }
            (Value::Dict(pairs), "setdefault") => {
                let k = args.next().ok_or_else(bad_args)?;
                let v = args.next().unwrap_or(Value::None);
                if Value::dict_get(pairs, &k).is_none() {
                    Value::dict_set(pairs, k, v);
                }
            }
            (Value::Dict(pairs), "pop") => {
                let k = args.next().ok_or_else(bad_args)?;
                pairs.retain(|(key, _)| !key.py_eq(&k));
            }
            (other, m) => {
                return Err(self.runtime(
                    node,
                    format!("'{}' object has no method '{m}'", other.type_name()),
                ));
            }
        }
        Ok(())
    }

    // ---- expressions ----

    fn eval_value(&mut self, expr: &Expr) -> R<Value> {
        let obj = self.eval(expr)?;
        self.plain(expr, obj)
    }

    /// An object as a plain value (what may be stored in a trait).
    fn plain(&self, node: &impl Ranged, obj: Obj) -> R<Value> {
        match obj {
            Obj::V(v) => Ok(v),
            Obj::Path(p) => Ok(Value::Str(p)),
            Obj::Package(p) => Ok(Value::Class(p)),
            Obj::Config | Obj::Section(_) => Err(self.unsupported(
                node,
                "the config object as a value",
                "assign plain values to traits",
            )),
            Obj::Module(m) => Err(self.runtime(node, format!("the module `{m}` is not a value"))),
            Obj::Func(f) | Obj::Type(f) => Err(self.unsupported(
                node,
                &format!("the function `{f}` as a value"),
                "hooks and callables are not supported: use the trait's declarative form",
            )),
            Obj::Environ => Ok(Value::Dict(Vec::new())),
        }
    }

    fn eval(&mut self, expr: &Expr) -> R<Obj> {
        self.step(expr)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.unsupported(
                expr,
                "deeply nested expression",
                "split it into several assignments",
            ));
        }
        let result = self.eval_inner(expr);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, expr: &Expr) -> R<Obj> {
        Ok(match expr {
            Expr::Constant(c) => Obj::V(self.constant(expr, &c.value)?),
            Expr::Name(n) => self.name(expr, n.id.as_str())?,
            Expr::List(l) => Obj::V(Value::List(self.eval_items(&l.elts)?)),
            Expr::Tuple(t) => Obj::V(Value::Tuple(self.eval_items(&t.elts)?)),
            Expr::Set(s) => {
                let mut out = Vec::new();
                for v in self.eval_items(&s.elts)? {
                    self.require_hashable(expr, &v)?;
                    Value::set_add(&mut out, v);
                }
                Obj::V(Value::Set(out))
            }
            Expr::Dict(d) => {
                let mut pairs = Vec::new();
                for (k, v) in d.keys.iter().zip(&d.values) {
                    let value = self.eval_value(v)?;
                    match k {
                        Some(k) => {
                            let key = self.eval_value(k)?;
                            self.require_hashable(k, &key)?;
                            Value::dict_set(&mut pairs, key, value);
                        }
                        None => match value {
                            Value::Dict(more) => {
                                for (k2, v2) in more {
                                    Value::dict_set(&mut pairs, k2, v2);
                                }
                            }
                            other => return Err(self.runtime(v, format!("'{}' object is not a mapping", other.type_name()))),
                        },
                    }
                }
                Obj::V(Value::Dict(pairs))
            }
            Expr::BinOp(b) => {
                let left = self.eval(&b.left)?;
                let right = self.eval(&b.right)?;
                self.binop(expr, b.op, left, right)?
            }
            Expr::UnaryOp(u) => {
                let v = self.eval_value(&u.operand)?;
                Obj::V(match (u.op, v) {
                    (ast::UnaryOp::Not, v) => Value::Bool(!v.truthy()),
                    (ast::UnaryOp::USub, Value::Int(i)) => Value::Int(i.checked_neg().ok_or_else(|| self.runtime(expr, "integer overflow"))?),
                    (ast::UnaryOp::USub, Value::Float(f)) => Value::Float(-f),
                    (ast::UnaryOp::USub, Value::Bool(b)) => Value::Int(-i64::from(b)),
                    (ast::UnaryOp::UAdd, v @ (Value::Int(_) | Value::Float(_))) => v,
                    (op, v) => return Err(self.runtime(expr, format!("bad operand type for unary {op:?}: '{}'", v.type_name()))),
                })
            }
            Expr::BoolOp(b) => {
                let mut last = Obj::V(Value::None);
                for (i, v) in b.values.iter().enumerate() {
                    let obj = self.eval(v)?;
                    let truth = match &obj {
                        Obj::V(v) => v.truthy(),
                        _ => true,
                    };
                    last = obj;
                    let short = match b.op {
                        ast::BoolOp::And => !truth,
                        ast::BoolOp::Or => truth,
                    };
                    if short || i + 1 == b.values.len() {
                        break;
                    }
                }
                last
            }
            Expr::Compare(c) => {
                let mut left = self.eval(&c.left)?;
                for (op, right_expr) in c.ops.iter().zip(&c.comparators) {
                    let right = self.eval(right_expr)?;
                    if !self.compare(expr, *op, &left, &right)? {
                        return Ok(Obj::V(Value::Bool(false)));
                    }
                    left = right;
                }
                Obj::V(Value::Bool(true))
            }
            Expr::IfExp(i) => {
                if self.eval_value(&i.test)?.truthy() {
                    self.eval(&i.body)?
                } else {
                    self.eval(&i.orelse)?
                }
            }
            Expr::JoinedStr(j) => {
                let mut out = String::new();
                for part in &j.values {
                    match part {
                        Expr::Constant(ast::ExprConstant { value: Constant::Str(s), .. }) => out.push_str(s),
                        Expr::FormattedValue(f) => {
                            let v = self.eval_value(&f.value)?;
                            let spec = match &f.format_spec {
                                Some(spec) => self.eval_value(spec)?.as_str().unwrap_or("").to_owned(),
                                None => String::new(),
                            };
                            let conv = match f.conversion {
                                ast::ConversionFlag::Repr => Some('r'),
                                ast::ConversionFlag::Ascii => Some('a'),
                                ast::ConversionFlag::Str => Some('s'),
                                ast::ConversionFlag::None => None,
                            };
                            out.push_str(&format::format_field(&v, conv, &spec).map_err(|m| self.runtime(part, m))?);
                        }
                        other => {
                            let v = self.eval_value(other)?;
                            out.push_str(&format::to_str(&v));
                        }
                    }
                    self.check_len(expr, out.len())?;
                }
                Obj::V(Value::Str(out))
            }
            Expr::Attribute(a) => {
                let base = self.eval(&a.value)?;
                self.attribute(expr, base, a.attr.as_str())?
            }
            Expr::Subscript(s) => {
                let base = self.eval(&s.value)?;
                if let Expr::Slice(slice) = &*s.slice {
                    let v = self.plain(&*s.value, base)?;
                    return self.slice(expr, v, slice);
                }
                let key = self.eval_value(&s.slice)?;
                self.subscript(expr, base, key)?
            }
            Expr::Call(call) => self.call(expr, call)?,
            Expr::ListComp(l) => Obj::V(Value::List(self.comprehension(&l.generators, &mut |m| m.eval_value(&l.elt).map(|v| vec![v]))?)),
            Expr::GeneratorExp(g) => Obj::V(Value::List(self.comprehension(&g.generators, &mut |m| m.eval_value(&g.elt).map(|v| vec![v]))?)),
            Expr::SetComp(s) => {
                let items = self.comprehension(&s.generators, &mut |m| m.eval_value(&s.elt).map(|v| vec![v]))?;
                let mut out = Vec::new();
                for v in items {
                    self.require_hashable(expr, &v)?;
                    Value::set_add(&mut out, v);
                }
                Obj::V(Value::Set(out))
            }
            Expr::DictComp(d) => {
                let flat = self.comprehension(&d.generators, &mut |m| Ok(vec![m.eval_value(&d.key)?, m.eval_value(&d.value)?]))?;
                let mut pairs = Vec::new();
                let mut it = flat.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    self.require_hashable(expr, &k)?;
                    Value::dict_set(&mut pairs, k, v);
                }
                Obj::V(Value::Dict(pairs))
            }
            Expr::Lambda(_) => {
                return Err(self.unsupported(expr, "lambda", "callables are not supported: give the trait a plain value (e.g. an int for named_server_limit_per_user, a string for default_url)"))
            }
            Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_) => {
                return Err(self.unsupported(expr, "await/yield", "use plain values"))
            }
            Expr::NamedExpr(_) => return Err(self.unsupported(expr, "assignment expression (:=)", "assign on its own line")),
            Expr::Starred(_) => return Err(self.unsupported(expr, "starred expression", "write the elements out")),
            Expr::Slice(_) | Expr::FormattedValue(_) => return Err(self.runtime(expr, "unexpected expression")),
        })
    }

    fn require_hashable(&self, node: &impl Ranged, v: &Value) -> R<()> {
        if v.hashable() {
            Ok(())
        } else {
            Err(self.runtime(node, format!("unhashable type: '{}'", v.type_name())))
        }
    }

    fn eval_items(&mut self, elts: &[Expr]) -> R<Vec<Value>> {
        let mut out = Vec::with_capacity(elts.len());
        for e in elts {
            if let Expr::Starred(s) = e {
                let v = self.eval(&s.value)?;
                out.extend(self.iterate(e, v)?);
            } else {
                out.push(self.eval_value(e)?);
            }
        }
        Ok(out)
    }

    fn comprehension(
        &mut self,
        generators: &[ast::Comprehension],
        body: &mut dyn FnMut(&mut Self) -> R<Vec<Value>>,
    ) -> R<Vec<Value>> {
        let saved = self.locals.clone();
        let mut out = Vec::new();
        let result = self.comprehension_level(generators, body, &mut out);
        self.locals = saved;
        result.map(|()| out)
    }

    fn comprehension_level(
        &mut self,
        generators: &[ast::Comprehension],
        body: &mut dyn FnMut(&mut Self) -> R<Vec<Value>>,
        out: &mut Vec<Value>,
    ) -> R<()> {
        let Some((first, rest)) = generators.split_first() else {
            out.extend(body(self)?);
            if out.len() > MAX_LEN {
                return Err(ConfigError::new(
                    ErrorKind::Runtime,
                    None,
                    "comprehension result too large",
                ));
            }
            return Ok(());
        };
        if first.is_async {
            return Err(self.unsupported(&first.target, "async comprehension", "use a plain one"));
        }
        let iterable = self.eval(&first.iter)?;
        for item in self.iterate(&first.iter, iterable)? {
            self.step(&first.iter)?;
            self.bind_target(&first.target, item)?;
            let mut keep = true;
            for cond in &first.ifs {
                if !self.eval_value(cond)?.truthy() {
                    keep = false;
                    break;
                }
            }
            if keep {
                self.comprehension_level(rest, body, out)?;
            }
        }
        Ok(())
    }

    fn bind_target(&mut self, target: &Expr, value: Value) -> R<()> {
        match target {
            Expr::Name(n) => {
                self.locals.insert(n.id.to_string(), Obj::V(value));
                Ok(())
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let items = self.iterate(target, Obj::V(value))?;
                if items.len() != elts.len() {
                    return Err(self.runtime(
                        target,
                        format!(
                            "cannot unpack {} values into {} names",
                            items.len(),
                            elts.len()
                        ),
                    ));
                }
                for (e, v) in elts.iter().zip(items) {
                    self.bind_target(e, v)?;
                }
                Ok(())
            }
            _ => Err(self.unsupported(target, "this loop target", "loop into plain names")),
        }
    }

    fn constant(&self, node: &Expr, c: &Constant) -> R<Value> {
        Ok(match c {
            Constant::None => Value::None,
            Constant::Bool(b) => Value::Bool(*b),
            Constant::Str(s) => Value::Str(s.clone()),
            Constant::Bytes(b) => Value::Bytes(b.clone()),
            Constant::Int(i) => Value::Int(
                i.to_i64()
                    .ok_or_else(|| self.runtime(node, "integer too large (over 64 bits)"))?,
            ),
            Constant::Float(f) => Value::Float(*f),
            Constant::Tuple(items) => Value::Tuple(
                items
                    .iter()
                    .map(|i| self.constant(node, i))
                    .collect::<R<_>>()?,
            ),
            Constant::Complex { .. } => {
                return Err(self.unsupported(node, "complex number", "use an int or float"))
            }
            Constant::Ellipsis => return Err(self.unsupported(node, "...", "use None")),
        })
    }

    fn name(&self, node: &Expr, name: &str) -> R<Obj> {
        if let Some(obj) = self.locals.get(name) {
            return Ok(obj.clone());
        }
        Ok(match name {
            "get_config" => Obj::Func("get_config"),
            "True" => Obj::V(Value::Bool(true)),
            "False" => Obj::V(Value::Bool(false)),
            "None" => Obj::V(Value::None),
            "set" | "list" | "dict" | "tuple" | "int" | "float" | "str" | "bool" | "len" | "sorted" | "min" | "max"
            | "range" | "print" | "abs" | "any" | "all" | "isinstance" | "reversed" | "enumerate" | "zip" | "repr" => {
                Obj::Func(builtin_name(name))
            }
            "bytes" => Obj::Type("bytes"),
            "open" => return Err(self.unsupported(node, "open()", "file I/O is not supported: put the value in the config file, an environment variable, or a file path trait (e.g. cookie_secret_file)")),
            "exec" | "eval" | "compile" | "__import__" | "load_subconfig" | "globals" | "locals" | "getattr" | "setattr" => {
                return Err(self.unsupported(node, &format!("{name}()"), "the native evaluator does not run other code; put the settings in jupyterhub_config.d/*.py, which oxhub loads in sorted order"))
            }
            _ => return Err(self.runtime(node, format!("name '{name}' is not defined"))),
        })
    }

    fn attribute(&mut self, node: &Expr, base: Obj, attr: &str) -> R<Obj> {
        Ok(match base {
            Obj::Config => Obj::Section(attr.to_owned()),
            Obj::Section(class) => Obj::V(self.trait_current(&class, attr, None)),
            Obj::Module("os") => match attr {
                "environ" => Obj::Environ,
                "path" => Obj::Module("os.path"),
                "getenv" => Obj::Func("os.getenv"),
                "sep" => Obj::V(Value::Str("/".into())),
                "pathsep" => Obj::V(Value::Str(":".into())),
                _ => return Err(self.unsupported(node, &format!("os.{attr}"), "only os.environ, os.getenv and os.path are available")),
            },
            Obj::Module("os.path") => match os_path_func(attr) {
                Some(f) => Obj::Func(f),
                None => return Err(self.unsupported(node, &format!("os.path.{attr}"), "available: join, dirname, basename, abspath, expanduser, exists, isfile, isdir")),
            },
            Obj::Module("sys") => match attr {
                "exit" => Obj::Func("sys.exit"),
                "platform" => Obj::V(Value::Str("linux".into())),
                "version_info" => Obj::V(Value::Tuple(vec![Value::Int(3), Value::Int(11), Value::Int(0)])),
                _ => return Err(self.unsupported(node, &format!("sys.{attr}"), "only sys.exit, sys.platform and sys.version_info are available")),
            },
            Obj::Module("json") => match attr {
                "loads" => Obj::Func("json.loads"),
                _ => return Err(self.unsupported(node, &format!("json.{attr}"), "only json.loads is available")),
            },
            Obj::Module("pathlib") => match attr {
                "Path" | "PurePath" | "PosixPath" => Obj::Func("pathlib.Path"),
                _ => return Err(self.unsupported(node, &format!("pathlib.{attr}"), "only pathlib.Path is available")),
            },
            Obj::Package(p) => Obj::Package(format!("{p}.{attr}")),
            Obj::Path(p) => match attr {
                "name" => Obj::V(Value::Str(basename(&p).to_owned())),
                "parent" => Obj::Path(dirname(&p).to_owned()),
                "stem" => {
                    let name = basename(&p);
                    Obj::V(Value::Str(name.rsplit_once('.').map_or(name, |(s, _)| s).to_owned()))
                }
                _ => return Err(self.unsupported(node, &format!("Path.{attr}"), "available: name, parent, stem, and the / operator")),
            },
            _ => return Err(self.runtime(node, format!("no attribute '{attr}' here (methods must be called)"))),
        })
    }

    fn subscript(&mut self, node: &Expr, base: Obj, key: Value) -> R<Obj> {
        match base {
            Obj::Config => match key {
                Value::Str(class) => Ok(Obj::Section(class)),
                other => Err(self.runtime(
                    node,
                    format!(
                        "config sections are named by str, not {}",
                        other.type_name()
                    ),
                )),
            },
            Obj::Environ => match key {
                Value::Str(name) => match self.env.var(&name) {
                    Some(v) => Ok(Obj::V(Value::Str(v))),
                    None => Err(self
                        .runtime(
                            node,
                            format!("environment variable {name} is not set (KeyError: '{name}')"),
                        )
                        .hint(format!(
                            "set {name}, or write os.environ.get('{name}', default)"
                        ))),
                },
                other => Err(self.runtime(
                    node,
                    format!(
                        "environment variable names are str, not {}",
                        other.type_name()
                    ),
                )),
            },
            other => {
                let v = self.plain(node, other)?;
                Ok(Obj::V(self.index_value(node, &v, &key)?))
            }
        }
    }

    fn index_value(&self, node: &Expr, v: &Value, key: &Value) -> R<Value> {
        match v {
            Value::Dict(pairs) => Value::dict_get(pairs, key)
                .cloned()
                .ok_or_else(|| self.runtime(node, format!("KeyError: {}", key.repr()))),
            Value::List(items) | Value::Tuple(items) => {
                let i = self.list_index(items.len(), key, node)?;
                Ok(items[i].clone())
            }
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                let i = self.list_index(chars.len(), key, node)?;
                Ok(Value::Str(chars[i].to_string()))
            }
            other => Err(self.runtime(
                node,
                format!("'{}' object is not subscriptable", other.type_name()),
            )),
        }
    }

    fn slice(&mut self, node: &Expr, v: Value, slice: &ast::ExprSlice) -> R<Obj> {
        let bound = |m: &mut Self, e: &Option<Box<Expr>>| -> R<Option<i64>> {
            match e {
                None => Ok(None),
                Some(e) => match m.eval_value(e)? {
                    Value::Int(i) => Ok(Some(i)),
                    Value::None => Ok(None),
                    other => Err(m.runtime(
                        node,
                        format!("slice indices must be integers, not {}", other.type_name()),
                    )),
                },
            }
        };
        if slice.step.is_some() {
            return Err(self.unsupported(node, "slice step", "use a plain slice"));
        }
        let lo = bound(self, &slice.lower)?;
        let hi = bound(self, &slice.upper)?;
        let clamp = |len: usize, b: Option<i64>, dflt: usize| -> usize {
            let len_i = i64::try_from(len).unwrap_or(i64::MAX);
            match b {
                None => dflt,
                Some(i) if i < 0 => usize::try_from((len_i + i).max(0)).unwrap_or(0),
                Some(i) => usize::try_from(i.min(len_i)).unwrap_or(len),
            }
        };
        Ok(Obj::V(match v {
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                let (a, b) = (
                    clamp(chars.len(), lo, 0),
                    clamp(chars.len(), hi, chars.len()),
                );
                Value::Str(if a < b {
                    chars[a..b].iter().collect()
                } else {
                    String::new()
                })
            }
            Value::List(items) | Value::Tuple(items) => {
                let (a, b) = (
                    clamp(items.len(), lo, 0),
                    clamp(items.len(), hi, items.len()),
                );
                Value::List(if a < b { items[a..b].to_vec() } else { vec![] })
            }
            other => {
                return Err(self.runtime(
                    node,
                    format!("'{}' object is not subscriptable", other.type_name()),
                ))
            }
        }))
    }

    /// The elements a `for` loop (or `list()`, `set()`, ...) sees.
    fn iterate(&self, node: &impl Ranged, obj: Obj) -> R<Vec<Value>> {
        match obj {
            Obj::V(Value::List(v)) | Obj::V(Value::Tuple(v)) | Obj::V(Value::Set(v)) => Ok(v),
            Obj::V(Value::Dict(pairs)) => Ok(pairs.into_iter().map(|(k, _)| k).collect()),
            Obj::V(Value::Str(s)) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
            Obj::V(other) => Err(self.runtime(
                node,
                format!("'{}' object is not iterable", other.type_name()),
            )),
            Obj::Environ => Err(self.unsupported(
                node,
                "iterating os.environ",
                "look up the variables you need by name",
            )),
            _ => Err(self.runtime(node, "object is not iterable")),
        }
    }

    fn compare(&self, node: &Expr, op: ast::CmpOp, left: &Obj, right: &Obj) -> R<bool> {
        use ast::CmpOp::*;
        if let (In | NotIn, Obj::Environ) = (op, right) {
            let Obj::V(Value::Str(name)) = left else {
                return Err(self.runtime(node, "environment variable names are str"));
            };
            let present = self.env.var(name).is_some();
            return Ok(if op == In { present } else { !present });
        }
        let l = self.plain(node, left.clone())?;
        let r = self.plain(node, right.clone())?;
        Ok(match op {
            Eq => l.py_eq(&r),
            NotEq => !l.py_eq(&r),
            Is => {
                matches!((&l, &r), (Value::None, Value::None))
                    || (matches!((&l, &r), (Value::Bool(_), Value::Bool(_))) && l == r)
            }
            IsNot => {
                !(matches!((&l, &r), (Value::None, Value::None))
                    || (matches!((&l, &r), (Value::Bool(_), Value::Bool(_))) && l == r))
            }
            In | NotIn => {
                let found = match &r {
                    Value::Str(hay) => match &l {
                        Value::Str(needle) => hay.contains(needle.as_str()),
                        other => {
                            return Err(self.runtime(
                                node,
                                format!(
                                    "'in <string>' requires string as left operand, not {}",
                                    other.type_name()
                                ),
                            ))
                        }
                    },
                    Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
                        items.iter().any(|x| x.py_eq(&l))
                    }
                    Value::Dict(pairs) => Value::dict_get(pairs, &l).is_some(),
                    other => {
                        return Err(self.runtime(
                            node,
                            format!("argument of type '{}' is not iterable", other.type_name()),
                        ))
                    }
                };
                if op == In {
                    found
                } else {
                    !found
                }
            }
            Lt | LtE | Gt | GtE => {
                let ord = compare_order(&l, &r).ok_or_else(|| {
                    self.runtime(
                        node,
                        format!(
                            "'<' not supported between instances of '{}' and '{}'",
                            l.type_name(),
                            r.type_name()
                        ),
                    )
                })?;
                match op {
                    Lt => ord.is_lt(),
                    LtE => ord.is_le(),
                    Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                }
            }
        })
    }

    fn binop(&self, node: &impl Ranged, op: ast::Operator, left: Obj, right: Obj) -> R<Obj> {
        use ast::Operator::*;
        if let (Div, Obj::Path(p)) = (op, &left) {
            let r = self.plain(node, right)?;
            let Value::Str(seg) = r else {
                return Err(self.runtime(node, "Path / needs a str"));
            };
            return Ok(Obj::Path(join_paths(&[p.clone(), seg])));
        }
        let l = self.plain(node, left)?;
        let r = self.plain(node, right)?;
        let type_err = |l: &Value, r: &Value| {
            self.runtime(
                node,
                format!(
                    "unsupported operand types for {op:?}: '{}' and '{}'",
                    l.type_name(),
                    r.type_name()
                ),
            )
        };
        let overflow = || self.runtime(node, "integer overflow");
        let v = match (op, &l, &r) {
            (Mod, Value::Str(fmt), args) => {
                Value::Str(format::percent(fmt, args).map_err(|m| self.runtime(node, m))?)
            }
            (Add, Value::Str(a), Value::Str(b)) => {
                self.check_len(node, a.len() + b.len())?;
                Value::Str(format!("{a}{b}"))
            }
            (Add, Value::Bytes(a), Value::Bytes(b)) => {
                Value::Bytes([a.as_slice(), b.as_slice()].concat())
            }
            (Add, Value::List(a), Value::List(b)) => {
                self.check_len(node, a.len() + b.len())?;
                Value::List([a.as_slice(), b.as_slice()].concat())
            }
            (Add, Value::Tuple(a), Value::Tuple(b)) => {
                Value::Tuple([a.as_slice(), b.as_slice()].concat())
            }
            (Mult, Value::Str(s), Value::Int(n)) | (Mult, Value::Int(n), Value::Str(s)) => {
                let n = usize::try_from(*n).unwrap_or(0);
                self.check_len(node, s.len().saturating_mul(n))?;
                Value::Str(s.repeat(n))
            }
            (Mult, Value::List(s), Value::Int(n)) | (Mult, Value::Int(n), Value::List(s)) => {
                let n = usize::try_from(*n).unwrap_or(0);
                self.check_len(node, s.len().saturating_mul(n))?;
                Value::List(s.iter().cloned().cycle().take(s.len() * n).collect())
            }
            (BitOr, Value::Dict(a), Value::Dict(b)) => {
                let mut out = a.clone();
                for (k, v) in b {
                    Value::dict_set(&mut out, k.clone(), v.clone());
                }
                Value::Dict(out)
            }
            (BitOr, Value::Set(a), Value::Set(b)) => {
                let mut out = a.clone();
                for v in b {
                    Value::set_add(&mut out, v.clone());
                }
                Value::Set(out)
            }
            (Sub, Value::Set(a), Value::Set(b)) => Value::Set(
                a.iter()
                    .filter(|x| !b.iter().any(|y| y.py_eq(x)))
                    .cloned()
                    .collect(),
            ),
            (BitAnd, Value::Set(a), Value::Set(b)) => Value::Set(
                a.iter()
                    .filter(|x| b.iter().any(|y| y.py_eq(x)))
                    .cloned()
                    .collect(),
            ),
            (_, Value::Int(_) | Value::Bool(_), Value::Int(_) | Value::Bool(_)) => {
                let (a, b) = (as_int(&l), as_int(&r));
                match op {
                    Add => Value::Int(a.checked_add(b).ok_or_else(overflow)?),
                    Sub => Value::Int(a.checked_sub(b).ok_or_else(overflow)?),
                    Mult => Value::Int(a.checked_mul(b).ok_or_else(overflow)?),
                    Div => {
                        if b == 0 {
                            return Err(self.runtime(node, "division by zero"));
                        }
                        Value::Float(a as f64 / b as f64)
                    }
                    FloorDiv | Mod => {
                        if b == 0 {
                            return Err(self.runtime(node, "integer division or modulo by zero"));
                        }
                        let q = a.checked_div(b).ok_or_else(overflow)?;
                        let q = if (a % b != 0) && ((a < 0) != (b < 0)) {
                            q - 1
                        } else {
                            q
                        };
                        if op == FloorDiv {
                            Value::Int(q)
                        } else {
                            Value::Int(a - q * b)
                        }
                    }
                    Pow => {
                        let e = u32::try_from(b).map_err(|_| {
                            self.runtime(node, "negative or huge exponent not supported")
                        })?;
                        Value::Int(a.checked_pow(e).ok_or_else(overflow)?)
                    }
                    LShift | RShift | BitOr | BitAnd | BitXor => {
                        let sh = u32::try_from(b).unwrap_or(64);
                        match op {
                            LShift => Value::Int(
                                a.checked_shl(sh)
                                    .filter(|v| v >> sh == a)
                                    .ok_or_else(overflow)?,
                            ),
                            RShift => {
                                Value::Int(a.checked_shr(sh).unwrap_or(if a < 0 { -1 } else { 0 }))
                            }
                            BitOr => Value::Int(a | b),
                            BitAnd => Value::Int(a & b),
                            _ => Value::Int(a ^ b),
                        }
                    }
                    MatMult => return Err(type_err(&l, &r)),
                }
            }
            (
                Add | Sub | Mult | Div | Pow,
                Value::Int(_) | Value::Float(_) | Value::Bool(_),
                Value::Int(_) | Value::Float(_) | Value::Bool(_),
            ) => {
                let (a, b) = (as_float(&l), as_float(&r));
                Value::Float(match op {
                    Add => a + b,
                    Sub => a - b,
                    Mult => a * b,
                    Div => {
                        if b == 0.0 {
                            return Err(self.runtime(node, "float division by zero"));
                        }
                        a / b
                    }
                    _ => a.powf(b),
                })
            }
            _ => return Err(type_err(&l, &r)),
        };
        Ok(Obj::V(v))
    }

    fn call(&mut self, node: &Expr, call: &ast::ExprCall) -> R<Obj> {
        // Methods are dispatched on the receiver.
        if let Expr::Attribute(attr) = &*call.func {
            let receiver = self.eval(&attr.value)?;
            let method = attr.attr.as_str();
            let is_object_method = matches!(
                receiver,
                Obj::V(_) | Obj::Environ | Obj::Path(_) | Obj::Type(_) | Obj::Section(_)
            );
            if is_object_method {
                if is_mutating_method(method) {
                    if let Some(place) = self.place(&attr.value)? {
                        self.mutate(place, method, call, node)?;
                        return Ok(Obj::V(Value::None));
                    }
                }
                return self.method(node, receiver, method, call);
            }
            let func = self.attribute(&call.func, receiver, method)?;
            return self.call_func(node, func, call);
        }
        let func = self.eval(&call.func)?;
        self.call_func(node, func, call)
    }

    fn args(&mut self, call: &ast::ExprCall) -> R<Args> {
        let mut pos = Vec::new();
        for a in &call.args {
            if let Expr::Starred(s) = a {
                let v = self.eval(&s.value)?;
                pos.extend(self.iterate(a, v)?);
            } else {
                pos.push(self.eval_value(a)?);
            }
        }
        let mut kw = Vec::new();
        for k in &call.keywords {
            let Some(name) = &k.arg else {
                match self.eval_value(&k.value)? {
                    Value::Dict(pairs) => {
                        for (key, v) in pairs {
                            let Value::Str(key) = key else {
                                return Err(self.runtime(&k.value, "keywords must be strings"));
                            };
                            kw.push((key, v));
                        }
                        continue;
                    }
                    other => {
                        return Err(self.runtime(
                            &k.value,
                            format!(
                                "argument after ** must be a mapping, not {}",
                                other.type_name()
                            ),
                        ))
                    }
                }
            };
            kw.push((name.to_string(), self.eval_value(&k.value)?));
        }
        Ok((pos, kw))
    }

    fn call_func(&mut self, node: &Expr, func: Obj, call: &ast::ExprCall) -> R<Obj> {
        let name = match func {
            Obj::Func(f) => f,
            Obj::Package(p) => {
                return Err(self.unsupported(
                    node,
                    &format!("calling {p}"),
                    "set the class's traits in the config file instead of constructing it",
                ))
            }
            Obj::V(Value::Class(p)) => {
                return Err(self.unsupported(
                    node,
                    &format!("calling {p}"),
                    "set the class's traits in the config file instead of constructing it",
                ))
            }
            Obj::Type(t) => t,
            _ => return Err(self.runtime(node, "object is not callable")),
        };
        let (args, kwargs) = self.args(call)?;
        let arity = |n: usize| -> R<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(self.runtime(
                    node,
                    format!("{name}() takes {n} argument(s), {} given", args.len()),
                ))
            }
        };
        if !kwargs.is_empty() && !matches!(name, "print" | "sorted" | "dict" | "int") {
            return Err(self.unsupported(
                node,
                &format!("keyword arguments to {name}()"),
                "pass positional arguments",
            ));
        }
        let v = match name {
            "get_config" => return Ok(Obj::Config),
            "print" => {
                let text = args
                    .iter()
                    .map(format::to_str)
                    .collect::<Vec<_>>()
                    .join(" ");
                tracing::info!(target: "oxhub::config", "{}: {}", self.loc(node), text);
                Value::None
            }
            "sys.exit" => {
                let detail = args.first().map(format::to_str).unwrap_or_default();
                return Err(ConfigError::new(
                    ErrorKind::Runtime,
                    Some(self.loc(node)),
                    format!("the config file called sys.exit({detail})"),
                ));
            }
            "os.getenv" => match args.as_slice() {
                [Value::Str(k)] => self.env.var(k).map_or(Value::None, Value::Str),
                [Value::Str(k), d] => self.env.var(k).map_or_else(|| d.clone(), Value::Str),
                _ => return Err(self.runtime(node, "os.getenv(name[, default]) needs a str name")),
            },
            "json.loads" => match args.as_slice() {
                [Value::Str(s)] => from_json(
                    &serde_json::from_str(s)
                        .map_err(|e| self.runtime(node, format!("json.loads: {e}")))?,
                ),
                _ => return Err(self.runtime(node, "json.loads needs one str")),
            },
            "pathlib.Path" => {
                let parts = args
                    .iter()
                    .map(|a| match a {
                        Value::Str(s) => Ok(s.clone()),
                        other => Err(self
                            .runtime(node, format!("Path() needs str, not {}", other.type_name()))),
                    })
                    .collect::<R<Vec<_>>>()?;
                return Ok(Obj::Path(if parts.is_empty() {
                    ".".into()
                } else {
                    join_paths(&parts)
                }));
            }
            n if n.starts_with("os.path.") => self.os_path(node, n, &args)?,
            "len" => {
                arity(1)?;
                let n = match &args[0] {
                    Value::Str(s) => s.chars().count(),
                    Value::Bytes(b) => b.len(),
                    Value::List(v) | Value::Tuple(v) | Value::Set(v) => v.len(),
                    Value::Dict(d) => d.len(),
                    other => {
                        return Err(self.runtime(
                            node,
                            format!("object of type '{}' has no len()", other.type_name()),
                        ))
                    }
                };
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            "str" => match args.as_slice() {
                [] => Value::Str(String::new()),
                [v] => Value::Str(format::to_str(v)),
                _ => return Err(self.runtime(node, "str() takes at most 1 argument")),
            },
            "repr" => {
                arity(1)?;
                Value::Str(args[0].repr())
            }
            "int" => match args.as_slice() {
                [] => Value::Int(0),
                [Value::Int(i)] => Value::Int(*i),
                [Value::Bool(b)] => Value::Int(i64::from(*b)),
                [Value::Float(f)] if f.is_finite() && f.abs() < 9.2e18 => {
                    Value::Int(f.trunc() as i64)
                }
                [Value::Str(s)] => Value::Int(s.trim().replace('_', "").parse().map_err(|_| {
                    self.runtime(
                        node,
                        format!(
                            "invalid literal for int() with base 10: {}",
                            Value::Str(s.clone()).repr()
                        ),
                    )
                })?),
                [Value::Str(s), Value::Int(base)] => {
                    let base = u32::try_from(*base)
                        .ok()
                        .filter(|b| (2..=36).contains(b))
                        .ok_or_else(|| self.runtime(node, "int() base must be 2..36"))?;
                    Value::Int(
                        i64::from_str_radix(s.trim(), base)
                            .map_err(|_| self.runtime(node, "invalid literal for int()"))?,
                    )
                }
                _ => return Err(self.runtime(node, "int() cannot convert this value")),
            },
            "float" => match args.as_slice() {
                [] => Value::Float(0.0),
                [Value::Int(i)] => Value::Float(*i as f64),
                [Value::Float(f)] => Value::Float(*f),
                [Value::Str(s)] => Value::Float(s.trim().parse().map_err(|_| {
                    self.runtime(
                        node,
                        format!(
                            "could not convert string to float: {}",
                            Value::Str(s.clone()).repr()
                        ),
                    )
                })?),
                _ => return Err(self.runtime(node, "float() cannot convert this value")),
            },
            "bool" => Value::Bool(args.first().is_some_and(Value::truthy)),
            "abs" => match args.as_slice() {
                [Value::Int(i)] => Value::Int(
                    i.checked_abs()
                        .ok_or_else(|| self.runtime(node, "integer overflow"))?,
                ),
                [Value::Float(f)] => Value::Float(f.abs()),
                _ => return Err(self.runtime(node, "abs() needs a number")),
            },
            "list" | "tuple" | "set" | "sorted" | "reversed" => {
                let items = match args.into_iter().next() {
                    None => vec![],
                    Some(v) => self.iterate(node, Obj::V(v))?,
                };
                match name {
                    "list" => Value::List(items),
                    "tuple" => Value::Tuple(items),
                    "reversed" => Value::List(items.into_iter().rev().collect()),
                    "set" => {
                        let mut out = Vec::new();
                        for v in items {
                            self.require_hashable(node, &v)?;
                            Value::set_add(&mut out, v);
                        }
                        Value::Set(out)
                    }
                    _ => {
                        let mut items = items;
                        let mut failed = false;
                        items.sort_by(|a, b| {
                            compare_order(a, b).unwrap_or_else(|| {
                                failed = true;
                                std::cmp::Ordering::Equal
                            })
                        });
                        if failed {
                            return Err(self.runtime(node, "sorted(): values cannot be compared"));
                        }
                        if kwargs.iter().any(|(k, v)| k == "reverse" && v.truthy()) {
                            items.reverse();
                        }
                        Value::List(items)
                    }
                }
            }
            "dict" => {
                let mut pairs = Vec::new();
                if let Some(first) = args.into_iter().next() {
                    match first {
                        Value::Dict(d) => pairs = d,
                        other => {
                            for item in self.iterate(node, Obj::V(other))? {
                                match item {
                                    Value::Tuple(kv) | Value::List(kv) if kv.len() == 2 => {
                                        let mut it = kv.into_iter();
                                        if let (Some(k), Some(v)) = (it.next(), it.next()) {
                                            self.require_hashable(node, &k)?;
                                            Value::dict_set(&mut pairs, k, v);
                                        }
                                    }
                                    _ => return Err(self.runtime(node, "dict() needs pairs")),
                                }
                            }
                        }
                    }
                }
                for (k, v) in kwargs {
                    Value::dict_set(&mut pairs, Value::Str(k), v);
                }
                Value::Dict(pairs)
            }
            "min" | "max" => {
                let items = if args.len() == 1 {
                    self.iterate(node, Obj::V(args[0].clone()))?
                } else {
                    args
                };
                let mut best: Option<Value> = None;
                for v in items {
                    best = Some(match best {
                        None => v,
                        Some(b) => {
                            let ord = compare_order(&v, &b).ok_or_else(|| {
                                self.runtime(node, format!("{name}(): values cannot be compared"))
                            })?;
                            if (name == "min" && ord.is_lt()) || (name == "max" && ord.is_gt()) {
                                v
                            } else {
                                b
                            }
                        }
                    });
                }
                best.ok_or_else(|| {
                    self.runtime(node, format!("{name}() arg is an empty sequence"))
                })?
            }
            "any" | "all" => {
                arity(1)?;
                let items = self.iterate(node, Obj::V(args[0].clone()))?;
                Value::Bool(if name == "any" {
                    items.iter().any(Value::truthy)
                } else {
                    items.iter().all(Value::truthy)
                })
            }
            "range" => {
                let ints = args
                    .iter()
                    .map(|a| match a {
                        Value::Int(i) => Ok(*i),
                        other => Err(self.runtime(
                            node,
                            format!("range() needs ints, not {}", other.type_name()),
                        )),
                    })
                    .collect::<R<Vec<i64>>>()?;
                let (start, stop, step) = match ints.as_slice() {
                    [stop] => (0, *stop, 1),
                    [start, stop] => (*start, *stop, 1),
                    [start, stop, step] if *step != 0 => (*start, *stop, *step),
                    _ => return Err(self.runtime(node, "range() takes 1 to 3 ints (step not 0)")),
                };
                let count = if step > 0 {
                    (stop - start).max(0).saturating_add(step - 1) / step
                } else {
                    (start - stop).max(0).saturating_add(-step - 1) / -step
                };
                self.check_len(node, usize::try_from(count).unwrap_or(usize::MAX))?;
                Value::List((0..count).map(|i| Value::Int(start + i * step)).collect())
            }
            "enumerate" => {
                let items = self.iterate(
                    node,
                    Obj::V(args.first().cloned().unwrap_or(Value::List(vec![]))),
                )?;
                Value::List(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            Value::Tuple(vec![Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), v])
                        })
                        .collect(),
                )
            }
            "zip" => {
                let lists = args
                    .into_iter()
                    .map(|a| self.iterate(node, Obj::V(a)))
                    .collect::<R<Vec<_>>>()?;
                let n = lists.iter().map(Vec::len).min().unwrap_or(0);
                Value::List(
                    (0..n)
                        .map(|i| Value::Tuple(lists.iter().map(|l| l[i].clone()).collect()))
                        .collect(),
                )
            }
            "isinstance" => {
                return Err(self.unsupported(node, "isinstance()", "compare values directly"))
            }
            "bytes" => match args.as_slice() {
                [] => Value::Bytes(vec![]),
                [Value::Bytes(b)] => Value::Bytes(b.clone()),
                _ => {
                    return Err(self.unsupported(
                        node,
                        "bytes(...)",
                        "use a bytes literal or bytes.fromhex()",
                    ))
                }
            },
            other => return Err(self.runtime(node, format!("{other}() is not callable here"))),
        };
        Ok(Obj::V(v))
    }

    fn os_path(&self, node: &Expr, name: &str, args: &[Value]) -> R<Value> {
        let strs = args
            .iter()
            .map(|a| match a {
                Value::Str(s) => Ok(s.clone()),
                other => Err(self.runtime(
                    node,
                    format!("{name}() needs str arguments, not {}", other.type_name()),
                )),
            })
            .collect::<R<Vec<_>>>()?;
        let one = || -> R<&str> {
            match strs.as_slice() {
                [s] => Ok(s.as_str()),
                _ => Err(self.runtime(node, format!("{name}() takes one argument"))),
            }
        };
        Ok(match name {
            "os.path.join" => {
                if strs.is_empty() {
                    return Err(self.runtime(node, "os.path.join() needs at least one argument"));
                }
                Value::Str(join_paths(&strs))
            }
            "os.path.dirname" => Value::Str(dirname(one()?).to_owned()),
            "os.path.basename" => Value::Str(basename(one()?).to_owned()),
            "os.path.abspath" => {
                let p = one()?;
                Value::Str(normalize(&if p.starts_with('/') {
                    p.to_owned()
                } else {
                    join_paths(&[self.env.cwd(), p.to_owned()])
                }))
            }
            "os.path.expanduser" => {
                let p = one()?;
                match (p.strip_prefix('~'), self.env.home()) {
                    (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                        Value::Str(format!("{home}{rest}"))
                    }
                    _ => Value::Str(p.to_owned()),
                }
            }
            "os.path.exists" => Value::Bool(self.env.path_kind(one()?).is_some()),
            "os.path.isfile" => Value::Bool(self.env.path_kind(one()?) == Some(PathKind::File)),
            "os.path.isdir" => Value::Bool(self.env.path_kind(one()?) == Some(PathKind::Dir)),
            "os.path.isabs" => Value::Bool(one()?.starts_with('/')),
            "os.path.normpath" => Value::Str(normalize(one()?)),
            _ => return Err(self.runtime(node, format!("{name} is not available"))),
        })
    }

    fn method(&mut self, node: &Expr, receiver: Obj, method: &str, call: &ast::ExprCall) -> R<Obj> {
        let (args, kwargs) = self.args(call)?;
        if !kwargs.is_empty() && method != "format" {
            return Err(self.unsupported(
                node,
                &format!("keyword arguments to .{method}()"),
                "pass positional arguments",
            ));
        }
        let v = match receiver {
            Obj::Environ => match (method, args.as_slice()) {
                ("get", [Value::Str(k)]) => self.env.var(k).map_or(Value::None, Value::Str),
                ("get", [Value::Str(k), d]) => self.env.var(k).map_or_else(|| d.clone(), Value::Str),
                ("setdefault", _) | ("update", _) | ("pop", _) => {
                    return Err(self.unsupported(node, &format!("os.environ.{method}()"), "the config may read the environment, not change it; set variables for servers with c.Spawner.environment"))
                }
                _ => return Err(self.unsupported(node, &format!("os.environ.{method}()"), "use os.environ['X'] or os.environ.get('X', default)")),
            },
            Obj::Type("bytes") => match (method, args.as_slice()) {
                ("fromhex", [Value::Str(s)]) => Value::Bytes(parse_hex(s).ok_or_else(|| self.runtime(node, "non-hexadecimal number found in fromhex() arg"))?),
                _ => return Err(self.runtime(node, format!("bytes.{method}() is not available"))),
            },
            Obj::Path(p) => match method {
                "joinpath" => {
                    let mut parts = vec![p];
                    for a in args {
                        parts.push(format::to_str(&a));
                    }
                    return Ok(Obj::Path(join_paths(&parts)));
                }
                "exists" => Value::Bool(self.env.path_kind(&p).is_some()),
                "is_file" => Value::Bool(self.env.path_kind(&p) == Some(PathKind::File)),
                "is_dir" => Value::Bool(self.env.path_kind(&p) == Some(PathKind::Dir)),
                "expanduser" => {
                    let v = self.os_path(node, "os.path.expanduser", &[Value::Str(p)])?;
                    return Ok(Obj::Path(format::to_str(&v)));
                }
                "as_posix" | "__str__" => Value::Str(p),
                "read_text" | "open" | "read_bytes" => {
                    return Err(self.unsupported(node, &format!("Path.{method}()"), "file I/O is not supported: put the value in the config file or an environment variable"))
                }
                _ => return Err(self.runtime(node, format!("Path.{method}() is not available"))),
            },
            Obj::Section(class) => match (method, args.as_slice()) {
                ("update", [Value::Dict(pairs)]) => {
                    for (k, v) in pairs {
                        let Value::Str(name) = k else {
                            return Err(self.runtime(node, format!("trait names are str, not {}", k.type_name())));
                        };
                        let origin = self.origin(node);
                        self.config.set(&class, name, v.clone(), origin);
                    }
                    Value::None
                }
                _ => return Err(self.runtime(node, format!("c.{class}.{method}() is not supported: assign traits, or update the section with c.{class}.update({{...}})"))),
            },
            Obj::V(v) => format::method(&v, method, &args, &kwargs).map_err(|m| self.runtime(node, m))?,
            _ => return Err(self.runtime(node, format!("no method '{method}' here"))),
        };
        if let Value::Str(s) = &v {
            self.check_len(node, s.len())?;
        }
        Ok(Obj::V(v))
    }
}

fn is_mutating_method(m: &str) -> bool {
    matches!(
        m,
        "append"
            | "extend"
            | "update"
            | "add"
            | "insert"
            | "remove"
            | "discard"
            | "clear"
            | "setdefault"
            | "pop"
    )
}

fn builtin_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "set",
        "list",
        "dict",
        "tuple",
        "int",
        "float",
        "str",
        "bool",
        "len",
        "sorted",
        "min",
        "max",
        "range",
        "print",
        "abs",
        "any",
        "all",
        "isinstance",
        "reversed",
        "enumerate",
        "zip",
        "repr",
    ];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("print")
}

fn os_path_func(name: &str) -> Option<&'static str> {
    Some(match name {
        "join" => "os.path.join",
        "dirname" => "os.path.dirname",
        "basename" => "os.path.basename",
        "abspath" => "os.path.abspath",
        "expanduser" => "os.path.expanduser",
        "exists" => "os.path.exists",
        "isfile" => "os.path.isfile",
        "isdir" => "os.path.isdir",
        "isabs" => "os.path.isabs",
        "normpath" => "os.path.normpath",
        _ => return None,
    })
}

fn as_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

fn as_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn compare_order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (
            Value::Int(_) | Value::Float(_) | Value::Bool(_),
            Value::Int(_) | Value::Float(_) | Value::Bool(_),
        ) => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
            _ => as_float(a).partial_cmp(&as_float(b)),
        },
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            for (p, q) in x.iter().zip(y) {
                match compare_order(p, q)? {
                    std::cmp::Ordering::Equal => continue,
                    other => return Some(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

/// `os.path.join` semantics: an absolute part restarts the path.
pub(crate) fn join_paths(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p.clone();
        } else {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(p);
        }
    }
    out
}

fn dirname(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => p[..i]
            .trim_end_matches('/')
            .get(..)
            .filter(|s| !s.is_empty())
            .unwrap_or("/"),
        None => "",
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn normalize(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if abs {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

pub(crate) fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Dict(
            o.iter()
                .map(|(k, v)| (Value::Str(k.clone()), from_json(v)))
                .collect(),
        ),
    }
}
