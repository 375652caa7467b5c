//! Accounts an authenticator keeps itself (NativeAuthenticator's users): one JSON record per
//! normalised name, independent of the `users` table (a sign-up exists before its hub user).
//! Writes here change no identity, so they leave the store's generation alone.

use crate::{Result, Store};
use sqlx::Row;

impl Store {
    pub async fn account(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT data FROM auth_accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| {
            let text: String = r.try_get("data").ok()?;
            serde_json::from_str(&text).ok()
        }))
    }

    pub async fn save_account(&self, name: &str, data: &serde_json::Value, now: i64) -> Result<()> {
        let text = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
        let mut tx = self.write_tx().await?;
        let updated =
            sqlx::query("UPDATE auth_accounts SET data = $1, updated = $2 WHERE name = $3")
                .bind(&text)
                .bind(now)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO auth_accounts (name, data, updated) VALUES ($1, $2, $3)")
                .bind(name)
                .bind(&text)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether there was an account of that name.
    pub async fn delete_account(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM auth_accounts WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<(String, serde_json::Value)>> {
        let rows = sqlx::query("SELECT name, data FROM auth_accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let name: String = r.try_get("name").ok()?;
                let text: String = r.try_get("data").ok()?;
                Some((name, serde_json::from_str(&text).ok()?))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use serde_json::json;

    #[tokio::test]
    async fn accounts_are_saved_replaced_listed_and_deleted() {
        let store = Store::open("sqlite:///:memory:").await.unwrap();
        assert!(store.account("alice").await.unwrap().is_none());
        store
            .save_account("alice", &json!({"a": 1}), 1)
            .await
            .unwrap();
        store
            .save_account("alice", &json!({"a": 2}), 2)
            .await
            .unwrap();
        store
            .save_account("bob", &json!({"b": 1}), 3)
            .await
            .unwrap();
        assert_eq!(store.account("alice").await.unwrap(), Some(json!({"a": 2})));
        let names: Vec<String> = store
            .accounts()
            .await
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        assert!(store.delete_account("alice").await.unwrap());
        assert!(!store.delete_account("alice").await.unwrap());
    }
}
