//! What a user's model is made of (the record, roles, groups, memberships, servers), read
//! together and cached until the next write of any kind (including activity timestamps), so
//! repeated reads of the same user (`GET /user`, `GET /users/{name}`) cost no query. The cache
//! is keyed on the store's data generation, never on time.

use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::Groups;
use oxhub_store::{MemberKind, ServerRow, ServiceRow, UserRow};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// At most this many users' views are kept; past it the cache starts over.
const MAX_CACHED: usize = 10_000;

/// One user's model parts, as of one data generation.
#[derive(Debug, Clone)]
pub struct UserView {
    pub row: UserRow,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub membership: Groups,
    pub servers: Vec<ServerRow>,
}

/// A service's record and roles, as of one data generation.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub row: ServiceRow,
    pub roles: Vec<String>,
}

type Cache<T> = Mutex<HashMap<String, (u64, Arc<T>)>>;

/// The caches: user (or service) name → (data generation, view).
#[derive(Default)]
pub struct Views {
    users: Cache<UserView>,
    services: Cache<ServiceView>,
}

fn cached<T>(cache: &Cache<T>, name: &str, generation: u64) -> Option<Arc<T>> {
    let cache = cache.lock().ok()?;
    let (g, view) = cache.get(name)?;
    (*g == generation).then(|| Arc::clone(view))
}

fn remember<T>(cache: &Cache<T>, name: &str, generation: u64, view: &Arc<T>) {
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(name.to_owned(), (generation, Arc::clone(view)));
    }
}

impl Hub {
    /// `name`'s view, from the cache when nothing was written since it was read.
    pub async fn user_view(&self, name: &str) -> Result<Option<Arc<UserView>>, HubError> {
        // Read the generation before the data: a write that lands meanwhile moves it on,
        // so what is read now is never served after that write.
        let generation = self.store.data_generation();
        if let Some(view) = cached(&self.views.users, name, generation) {
            return Ok(Some(view));
        }
        let Some(row) = self.store.user(name).await? else {
            return Ok(None);
        };
        let roles = self
            .store
            .user_roles(name)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        let groups = self.store.user_groups(name).await?;
        let membership = Groups(HashMap::from([(
            name.to_owned(),
            groups.iter().cloned().collect(),
        )]));
        let servers = self.store.servers_of(name).await?;
        let view = Arc::new(UserView {
            row,
            roles,
            groups,
            membership,
            servers,
        });
        remember(&self.views.users, name, generation, &view);
        Ok(Some(view))
    }

    /// `name`'s service view, from the cache when nothing was written since it was read.
    pub async fn service_view(&self, name: &str) -> Result<Option<Arc<ServiceView>>, HubError> {
        let generation = self.store.data_generation();
        if let Some(view) = cached(&self.views.services, name, generation) {
            return Ok(Some(view));
        }
        let Some(row) = self.store.service(name).await? else {
            return Ok(None);
        };
        let roles = self
            .store
            .member_roles(MemberKind::Service, name)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        let view = Arc::new(ServiceView { row, roles });
        remember(&self.views.services, name, generation, &view);
        Ok(Some(view))
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{self, Behaviour, TestAuthenticator, TestSpawner};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_cached_view_never_outlives_a_write_activity_included() {
        let spawner = TestSpawner::new(Behaviour::Instant);
        let hub = testing::hub(
            testing::config(),
            Box::<TestAuthenticator>::default(),
            spawner as _,
        )
        .await;
        hub.store
            .create_user("alice", false, "c", 1, &["user"])
            .await
            .unwrap();
        let first = hub.user_view("alice").await.unwrap().unwrap();
        let again = hub.user_view("alice").await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "no write: the same view");
        hub.store.touch_user("alice", 5_000).await.unwrap();
        let after_activity = hub.user_view("alice").await.unwrap().unwrap();
        assert_eq!(after_activity.row.last_activity, Some(5_000));
        hub.store
            .create_group("g", &serde_json::json!({}))
            .await
            .unwrap();
        hub.store
            .add_group_members("g", &["alice".into()])
            .await
            .unwrap();
        let after_group = hub.user_view("alice").await.unwrap().unwrap();
        assert_eq!(after_group.groups, vec!["g".to_owned()]);
        hub.store.delete_user("alice").await.unwrap();
        assert!(hub.user_view("alice").await.unwrap().is_none());
    }
}
