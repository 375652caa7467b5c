//! oxhub's model: the vocabulary every other crate shares, with no I/O.
//!
//! - [`names`]: validated newtypes for user, group, service, server and role names, parsed
//!   once at the edge.
//! - [`scope`]: JupyterHub's RBAC scope engine (`shared/reference/scopes.md`): the scope
//!   table, filters, expansion, intersection and the access check.
//! - [`urls`]: URL paths and client ids derived from names, escaped as JupyterHub does.

pub mod names;
pub mod scope;
pub mod urls;
