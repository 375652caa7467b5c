//! Shares (access to one server granted to a user or a group) and share codes (a secret that
//! turns into a share for whoever redeems it). Codes are stored as prefix + hash, like tokens.

use crate::{json_list, to_json_text, Result, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareTarget {
    User(String),
    Group(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    pub id: i64,
    pub owner: String,
    pub server: String,
    pub server_ready: bool,
    pub target: ShareTarget,
    pub scopes: Vec<String>,
    pub created: i64,
}

/// Which shares a list is about.
#[derive(Debug, Clone, Copy)]
pub enum ShareFilter<'a> {
    /// Every share of every server of this owner.
    Owner(&'a str),
    /// The shares of one server.
    Server(&'a str, &'a str),
    /// Shares this user received, directly or through a group.
    Receiver(&'a str),
    /// Shares this group received.
    Group(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShareCodeRow {
    pub id: i64,
    pub owner: String,
    pub server: String,
    pub server_ready: bool,
    pub prefix: String,
    pub hash: String,
    pub scopes: Vec<String>,
    pub created: i64,
    pub expires_at: i64,
    pub exchange_count: i64,
    pub last_exchanged_at: Option<i64>,
}

const SHARE_SELECT: &str =
    "SELECT sh.id AS id, ou.name AS owner, sv.name AS server, sv.ready AS ready, \
    tu.name AS tuser, tg.name AS tgroup, sh.scopes AS scopes, sh.created AS created \
    FROM shares sh JOIN servers sv ON sv.id = sh.server_id JOIN users ou ON ou.id = sv.user_id \
    LEFT JOIN users tu ON tu.id = sh.user_id LEFT JOIN groups tg ON tg.id = sh.group_id";

const CODE_SELECT: &str =
    "SELECT c.id AS id, ou.name AS owner, sv.name AS server, sv.ready AS ready, c.prefix AS prefix, \
    c.hash AS hash, c.scopes AS scopes, c.created AS created, c.expires_at AS expires_at, \
    c.exchange_count AS exchange_count, c.last_exchanged_at AS last_exchanged_at \
    FROM share_codes c JOIN servers sv ON sv.id = c.server_id JOIN users ou ON ou.id = sv.user_id";

fn share_row(r: &AnyRow) -> Result<ShareRow> {
    let user: Option<String> = r.try_get("tuser")?;
    let group: Option<String> = r.try_get("tgroup")?;
    let target = match (user, group) {
        (Some(u), None) => ShareTarget::User(u),
        (None, Some(g)) => ShareTarget::Group(g),
        _ => {
            return Err(StoreError::Corrupt(
                "share without exactly one target".into(),
            ))
        }
    };
    let scopes: String = r.try_get("scopes")?;
    Ok(ShareRow {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        server: r.try_get("server")?,
        server_ready: r.try_get::<i64, _>("ready")? != 0,
        target,
        scopes: json_list(&scopes)?,
        created: r.try_get("created")?,
    })
}

fn code_row(r: &AnyRow) -> Result<ShareCodeRow> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ShareCodeRow {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        server: r.try_get("server")?,
        server_ready: r.try_get::<i64, _>("ready")? != 0,
        prefix: r.try_get("prefix")?,
        hash: r.try_get("hash")?,
        scopes: json_list(&scopes)?,
        created: r.try_get("created")?,
        expires_at: r.try_get("expires_at")?,
        exchange_count: r.try_get("exchange_count")?,
        last_exchanged_at: r.try_get("last_exchanged_at")?,
    })
}

impl ShareFilter<'_> {
    /// The WHERE clause and its binds.
    fn condition(&self) -> (&'static str, Vec<&str>) {
        match *self {
            ShareFilter::Owner(o) => ("ou.name = $1", vec![o]),
            ShareFilter::Server(o, s) => ("ou.name = $1 AND sv.name = $2", vec![o, s]),
            ShareFilter::Receiver(u) => (
                "(tu.name = $1 OR sh.group_id IN (SELECT m.group_id FROM user_group_map m JOIN users x ON x.id = m.user_id WHERE x.name = $2))",
                vec![u, u],
            ),
            ShareFilter::Group(g) => ("tg.name = $1", vec![g]),
        }
    }
}

impl Store {
    /// A page of shares (ordered by id) and the total.
    pub async fn shares(
        &self,
        filter: ShareFilter<'_>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareRow>, i64)> {
        let (cond, binds) = filter.condition();
        let n = binds.len();
        let page = format!(
            "{SHARE_SELECT} WHERE {cond} ORDER BY sh.id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let count = format!(
            "SELECT COUNT(*) AS n FROM shares sh JOIN servers sv ON sv.id = sh.server_id JOIN users ou ON ou.id = sv.user_id \
             LEFT JOIN users tu ON tu.id = sh.user_id LEFT JOIN groups tg ON tg.id = sh.group_id WHERE {cond}"
        );
        let mut tx = self.pool.begin().await?; // read-only
        let mut q = sqlx::query(&page);
        let mut c = sqlx::query(&count);
        for b in &binds {
            q = q.bind(*b);
            c = c.bind(*b);
        }
        let rows = q.bind(limit).bind(offset).fetch_all(&mut *tx).await?;
        let total: i64 = c.fetch_one(&mut *tx).await?.try_get("n")?;
        tx.commit().await?;
        Ok((rows.iter().map(share_row).collect::<Result<_>>()?, total))
    }

    /// The share of one server with one target, if any.
    pub async fn share(
        &self,
        owner: &str,
        server: &str,
        target: &ShareTarget,
    ) -> Result<Option<ShareRow>> {
        let (cond, name) = match target {
            ShareTarget::User(u) => ("tu.name = $3", u),
            ShareTarget::Group(g) => ("tg.name = $3", g),
        };
        let sql = format!("{SHARE_SELECT} WHERE ou.name = $1 AND sv.name = $2 AND {cond}");
        let row = sqlx::query(&sql)
            .bind(owner)
            .bind(server)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(share_row).transpose()
    }

    async fn target_ids(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        target: &ShareTarget,
    ) -> Result<(Option<i64>, Option<i64>)> {
        Ok(match target {
            ShareTarget::User(u) => (Some(self.id_of(tx, "users", u).await?), None),
            ShareTarget::Group(g) => (None, Some(self.id_of(tx, "groups", g).await?)),
        })
    }

    async fn server_id(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        owner: &str,
        server: &str,
    ) -> Result<i64> {
        let row = sqlx::query("SELECT s.id AS id FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = $1 AND s.name = $2")
            .bind(owner)
            .bind(server)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("id")?)
    }

    async fn add_share_scopes(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        server_id: i64,
        (user_id, group_id): (Option<i64>, Option<i64>),
        scopes: &[String],
        now: i64,
    ) -> Result<()> {
        let existing = sqlx::query("SELECT id, scopes FROM shares WHERE server_id = $1 AND (user_id = $2 OR group_id = $3)")
            .bind(server_id)
            .bind(user_id)
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?;
        match existing {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let mut all = json_list(&row.try_get::<String, _>("scopes")?)?;
                all.extend(scopes.iter().cloned());
                all.sort();
                all.dedup();
                sqlx::query("UPDATE shares SET scopes = $1 WHERE id = $2")
                    .bind(to_json_text(&all))
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            None => {
                let mut all = scopes.to_vec();
                all.sort();
                all.dedup();
                sqlx::query("INSERT INTO shares (server_id, user_id, group_id, scopes, created) VALUES ($1, $2, $3, $4, $5)")
                    .bind(server_id)
                    .bind(user_id)
                    .bind(group_id)
                    .bind(to_json_text(&all))
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Grant `scopes` on a server to a target, adding to an existing share. `NotFound` if the
    /// server or the target does not exist.
    pub async fn grant_share(
        &self,
        owner: &str,
        server: &str,
        target: &ShareTarget,
        scopes: &[String],
        now: i64,
    ) -> Result<ShareRow> {
        let mut tx = self.write_tx().await?;
        let server_id = self.server_id(&mut tx, owner, server).await?;
        let (user_id, group_id) = self.target_ids(&mut tx, target).await?;
        self.add_share_scopes(&mut tx, server_id, (user_id, group_id), scopes, now)
            .await?;
        self.commit(tx).await?;
        self.share(owner, server, target)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Take `scopes` (all when `None`) away from a share; the share is deleted when nothing is
    /// left. Returns what remains. `NotFound` if the server or target does not exist.
    pub async fn revoke_share(
        &self,
        owner: &str,
        server: &str,
        target: &ShareTarget,
        scopes: Option<&[String]>,
    ) -> Result<Option<ShareRow>> {
        let mut tx = self.write_tx().await?;
        let server_id = self.server_id(&mut tx, owner, server).await?;
        let (user_id, group_id) = self.target_ids(&mut tx, target).await?;
        let existing = sqlx::query("SELECT id, scopes FROM shares WHERE server_id = $1 AND (user_id = $2 OR group_id = $3)")
            .bind(server_id)
            .bind(user_id)
            .bind(group_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let id: i64 = row.try_get("id")?;
            let remaining: Vec<String> = match scopes {
                None => Vec::new(),
                Some(gone) => json_list(&row.try_get::<String, _>("scopes")?)?
                    .into_iter()
                    .filter(|s| !gone.contains(s))
                    .collect(),
            };
            if remaining.is_empty() {
                sqlx::query("DELETE FROM shares WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("UPDATE shares SET scopes = $1 WHERE id = $2")
                    .bind(to_json_text(&remaining))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        self.commit(tx).await?;
        self.share(owner, server, target).await
    }

    /// Delete every share of a server; returns how many.
    pub async fn delete_shares(&self, owner: &str, server: &str) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let server_id = self.server_id(&mut tx, owner, server).await?;
        let n = sqlx::query("DELETE FROM shares WHERE server_id = $1")
            .bind(server_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        self.commit(tx).await?;
        Ok(n)
    }

    /// The scopes a user holds through shares, directly or through a group.
    pub async fn share_scopes_of_user(&self, user: &str) -> Result<Vec<String>> {
        let sql = format!(
            "{SHARE_SELECT} WHERE {}",
            ShareFilter::Receiver(user).condition().0
        );
        let rows = sqlx::query(&sql)
            .bind(user)
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            out.extend(share_row(r)?.scopes);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    // ---- share codes ----

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_share_code(
        &self,
        owner: &str,
        server: &str,
        prefix: &str,
        hash: &str,
        scopes: &[String],
        now: i64,
        expires_at: i64,
    ) -> Result<ShareCodeRow> {
        let mut tx = self.write_tx().await?;
        let server_id = self.server_id(&mut tx, owner, server).await?;
        let row = sqlx::query("INSERT INTO share_codes (server_id, prefix, hash, scopes, created, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(server_id)
            .bind(prefix)
            .bind(hash)
            .bind(to_json_text(scopes))
            .bind(now)
            .bind(expires_at)
            .fetch_one(&mut *tx)
            .await?;
        let id: i64 = row.try_get("id")?;
        let row = sqlx::query(&format!("{CODE_SELECT} WHERE c.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        self.commit(tx).await?;
        code_row(&row)
    }

    /// A page of unexpired share codes of an owner (or one server), by id, and the total.
    pub async fn share_codes(
        &self,
        owner: &str,
        server: Option<&str>,
        now: i64,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareCodeRow>, i64)> {
        let cond = if server.is_some() {
            "ou.name = $1 AND c.expires_at > $2 AND sv.name = $3"
        } else {
            "ou.name = $1 AND c.expires_at > $2"
        };
        let (lim, off) = if server.is_some() {
            ("$4", "$5")
        } else {
            ("$3", "$4")
        };
        let page = format!("{CODE_SELECT} WHERE {cond} ORDER BY c.id LIMIT {lim} OFFSET {off}");
        let count = format!(
            "SELECT COUNT(*) AS n FROM share_codes c JOIN servers sv ON sv.id = c.server_id JOIN users ou ON ou.id = sv.user_id WHERE {cond}"
        );
        let mut tx = self.pool.begin().await?; // read-only
        let mut q = sqlx::query(&page).bind(owner).bind(now);
        let mut c = sqlx::query(&count).bind(owner).bind(now);
        if let Some(s) = server {
            q = q.bind(s);
            c = c.bind(s);
        }
        let rows = q.bind(limit).bind(offset).fetch_all(&mut *tx).await?;
        let total: i64 = c.fetch_one(&mut *tx).await?.try_get("n")?;
        tx.commit().await?;
        Ok((rows.iter().map(code_row).collect::<Result<_>>()?, total))
    }

    /// Unexpired share codes with this prefix (the caller compares hashes).
    pub async fn share_codes_by_prefix(&self, prefix: &str, now: i64) -> Result<Vec<ShareCodeRow>> {
        let rows = sqlx::query(&format!(
            "{CODE_SELECT} WHERE c.prefix = $1 AND c.expires_at > $2"
        ))
        .bind(prefix)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(code_row).collect()
    }

    /// Delete one code of a server (by id) or all of them (`None`); returns how many.
    pub async fn delete_share_codes(
        &self,
        owner: &str,
        server: &str,
        id: Option<i64>,
    ) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let server_id = self.server_id(&mut tx, owner, server).await?;
        let n = match id {
            Some(id) => sqlx::query("DELETE FROM share_codes WHERE server_id = $1 AND id = $2")
                .bind(server_id)
                .bind(id),
            None => sqlx::query("DELETE FROM share_codes WHERE server_id = $1").bind(server_id),
        }
        .execute(&mut *tx)
        .await?
        .rows_affected();
        self.commit(tx).await?;
        Ok(n)
    }

    /// Redeem a code for `user`: count the exchange and grant its scopes, in one transaction.
    pub async fn exchange_share_code(
        &self,
        code_id: i64,
        user: &str,
        now: i64,
    ) -> Result<ShareRow> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!("{CODE_SELECT} WHERE c.id = $1"))
            .bind(code_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let code = code_row(&row)?;
        sqlx::query("UPDATE share_codes SET exchange_count = exchange_count + 1, last_exchanged_at = $1 WHERE id = $2")
            .bind(now)
            .bind(code_id)
            .execute(&mut *tx)
            .await?;
        let server_id = self.server_id(&mut tx, &code.owner, &code.server).await?;
        let user_id = self.id_of(&mut tx, "users", user).await?;
        self.add_share_scopes(&mut tx, server_id, (Some(user_id), None), &code.scopes, now)
            .await?;
        self.commit(tx).await?;
        self.share(
            &code.owner,
            &code.server,
            &ShareTarget::User(user.to_owned()),
        )
        .await?
        .ok_or(StoreError::NotFound)
    }
}
