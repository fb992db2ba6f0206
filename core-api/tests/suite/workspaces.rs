//! Workspaces inside a tenant: creation and listing, members (the last ADMIN is kept, also
//! under concurrent changes), teams, deletion rules; and the user rules that touch them
//! (deleting a last admin, handing out roles).

use crate::common;

use std::time::Duration;

use common::{TestCore, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WS: &str = "/api/v1/tenants/alpha/workspaces";

fn slugs(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|w| w["slug"].as_str().expect("slug").to_owned())
        .collect()
}

/// The `data` entry with `slug`.
fn entry<'a>(page: &'a Value, slug: &str) -> &'a Value {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|w| w["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} listed in {page}"))
}

async fn members(core: &TestCore, ws: &str, token: &str) -> Vec<(String, String)> {
    let (status, body) = core.get(&format!("{WS}/{ws}/members"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().expect("user_id").to_owned(),
                m["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

async fn admins(core: &TestCore, ws: &str, token: &str) -> Vec<String> {
    members(core, ws, token)
        .await
        .into_iter()
        .filter(|(_, role)| role == "admin")
        .map(|(id, _)| id)
        .collect()
}

on_both_backends!(create_and_list, |core| {
    let a = core.tenant("alpha").await;
    let (_, m) = core.user(&a, "m@alpha.test", &["member"]).await;

    // A tenant member creates a workspace and becomes its ADMIN.
    let (status, ws) = core
        .post(WS, &m, json!({ "slug": "m-one", "name": "M One", "description": "mine", "settings": { "k": 1 } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    assert_eq!(ws["role"], "admin");
    assert_eq!(ws["member_count"], 1);
    assert_eq!(ws["team_count"], 0);
    assert_eq!(ws["is_default"], false);
    assert_eq!(ws["settings"], json!({ "k": 1 }));
    let (status, body) = core.get(&format!("{WS}/m-one/members"), &m).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["email"], "m@alpha.test");
    assert_eq!(body[0]["role"], "admin");
    // Slugs are unique per tenant, whoever asks.
    let (status, body) = core
        .post(
            WS,
            &a.admin_token,
            json!({ "slug": "m-one", "name": "Again" }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "WORKSPACE_EXISTS");
    let (status, body) = core
        .post(WS, &m, json!({ "slug": "default", "name": "Default 2" }))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "WORKSPACE_EXISTS");
    // Bad slugs and fields.
    let long = "w".repeat(64);
    for slug in [
        "Sales",
        "1ws",
        "a",
        "-ws",
        "ws_1",
        "ws.1",
        "ws 1",
        "ws'--",
        "w\u{15b}",
        "\u{430}bc",
        "",
        &long,
    ] {
        let (status, body) = core
            .post(WS, &m, json!({ "slug": slug, "name": "X" }))
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(body["error"]["details"]["field"], "slug", "{slug:?}");
    }
    let ok63 = format!("w{}", "x".repeat(62));
    for (body, field) in [
        (json!({ "slug": "fine", "name": "" }), "name"),
        (
            json!({ "slug": "fine", "name": "X", "settings": [1] }),
            "settings",
        ),
        (
            json!({ "slug": "fine", "name": "X", "description": "d".repeat(1001) }),
            "description",
        ),
    ] {
        let (status, response) = core.post(WS, &m, body).await;
        assert_error(
            status,
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(response["error"]["details"]["field"], field);
    }

    // Two more, by the tenant admin (distinct creation times for the sort checks).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, _) = core
        .post(
            WS,
            &a.admin_token,
            json!({ "slug": "a-two", "name": "Zulu" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, _) = core
        .post(WS, &a.admin_token, json!({ "slug": ok63, "name": "Alpha" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "a 63-character slug is fine");

    // A member sees their own workspaces only, with their role.
    let (status, page) = core.get(WS, &m).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(slugs(&page), ["m-one"]);
    assert_eq!(page["total"], 1);
    let m_id = core.me_id(&m).await;
    let (status, _) = core
        .post(
            &format!("{WS}/a-two/members"),
            &a.admin_token,
            json!({ "user_id": m_id, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = core.get(WS, &m).await;
    assert_eq!(page["total"], 2);
    assert_eq!(entry(&page, "a-two")["role"], "viewer");
    assert_eq!(entry(&page, "m-one")["role"], "admin");
    assert_eq!(entry(&page, "a-two")["member_count"], 2);

    // The tenant admin sees all of them, as ADMIN, with counts.
    let (status, body) = core
        .post(
            &format!("{WS}/m-one/teams"),
            &m,
            json!({ "name": "squad", "members": [m_id] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, page) = core.get(WS, &a.admin_token).await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["data"].as_array().expect("data").len(), 4);
    assert!(
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|w| w["role"] == "admin"),
        "{page}"
    );
    assert_eq!(entry(&page, "m-one")["member_count"], 1);
    assert_eq!(entry(&page, "m-one")["team_count"], 1);
    assert_eq!(entry(&page, "default")["member_count"], 1);
    assert_eq!(entry(&page, "default")["is_default"], true);

    // Sorting and pages.
    let (_, page) = core.get(&format!("{WS}?sort=name"), &a.admin_token).await;
    assert_eq!(
        slugs(&page),
        [ok63.as_str(), "default", "m-one", "a-two"],
        "by name: Alpha, Default, M One, Zulu"
    );
    let (_, page) = core
        .get(&format!("{WS}?sort=-created_at"), &a.admin_token)
        .await;
    assert_eq!(
        slugs(&page),
        [ok63.as_str(), "a-two", "m-one", "default"],
        "newest first"
    );
    let (_, page) = core
        .get(&format!("{WS}?sort=created_at"), &a.admin_token)
        .await;
    assert_eq!(
        slugs(&page),
        ["default", "m-one", "a-two", ok63.as_str()],
        "oldest first"
    );
    let (_, page) = core
        .get(&format!("{WS}?sort=name&per_page=2&page=2"), &a.admin_token)
        .await;
    assert_eq!(slugs(&page), ["m-one", "a-two"]);
    assert_eq!(
        (
            page["total"].as_u64(),
            page["page"].as_u64(),
            page["per_page"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    let (_, page) = core
        .get(&format!("{WS}?per_page=2&page=3"), &a.admin_token)
        .await;
    assert!(slugs(&page).is_empty());
    assert_eq!(page["total"], 4);
    for query in [
        "sort=bogus",
        "sort=name;DROP TABLE workspaces",
        "sort=-name",
        "page=0",
        "per_page=101",
        "page=x",
    ] {
        let (status, body) = core.get(&format!("{WS}?{query}"), &a.admin_token).await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
    }
    // Still intact.
    let (_, page) = core.get(WS, &a.admin_token).await;
    assert_eq!(page["total"], 4);
});

on_both_backends!(members_and_the_last_admin, |core| {
    let a = core.tenant("alpha").await;
    let admin_id = core.me_id(&a.admin_token).await;
    let u2 = core.add_user(&a, "u2@alpha.test", &["member"]).await;
    let u3 = core.add_user(&a, "u3@alpha.test", &["member"]).await;
    let (status, _) = core
        .post(
            WS,
            &a.admin_token,
            json!({ "slug": "proj", "name": "Project" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("{WS}/proj/members");

    // Add by id, again (409), by email (any case), unknown users (404), bad role (422).
    let (status, member) = core
        .post(
            &path,
            &a.admin_token,
            json!({ "user_id": u2, "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["user_id"], u2.as_str());
    assert_eq!(member["email"], "u2@alpha.test");
    assert_eq!(member["role"], "member");
    let (status, body) = core
        .post(
            &path,
            &a.admin_token,
            json!({ "user_id": u2, "role": "viewer" }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "MEMBER_EXISTS");
    let (status, member) = core
        .post(
            &path,
            &a.admin_token,
            json!({ "user_id": "U3@Alpha.test", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["user_id"], u3.as_str());
    for unknown in [
        "u_000000000000000000000000",
        "nobody@alpha.test",
        "u2@bravo.test",
    ] {
        let (status, body) = core
            .post(
                &path,
                &a.admin_token,
                json!({ "user_id": unknown, "role": "member" }),
            )
            .await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "USER_NOT_FOUND");
    }
    let (status, body) = core
        .post(
            &path,
            &a.admin_token,
            json!({ "user_id": u3, "role": "owner" }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let (status, body) = core.get(&format!("{path}/{u3}"), &a.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "viewer");
    let (status, body) = core.get(&format!("{path}/u_nope"), &a.admin_token).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
    assert_eq!(members(&core, "proj", &a.admin_token).await.len(), 3);

    // The last ADMIN can be neither demoted nor removed.
    assert_eq!(
        admins(&core, "proj", &a.admin_token).await,
        std::slice::from_ref(&admin_id)
    );
    for role in ["member", "viewer"] {
        let (status, body) = core
            .patch(
                &format!("{path}/{admin_id}"),
                &a.admin_token,
                json!({ "role": role }),
            )
            .await;
        assert_error(status, &body, StatusCode::CONFLICT, "LAST_WORKSPACE_ADMIN");
    }
    let (status, body) = core
        .delete(&format!("{path}/{admin_id}"), &a.admin_token)
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "LAST_WORKSPACE_ADMIN");
    // Re-stating the admin role is not a demotion.
    let (status, _) = core
        .patch(
            &format!("{path}/{admin_id}"),
            &a.admin_token,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        admins(&core, "proj", &a.admin_token).await,
        std::slice::from_ref(&admin_id)
    );

    // With two admins, one can be demoted.
    let (status, body) = core
        .patch(
            &format!("{path}/{u2}"),
            &a.admin_token,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "admin");
    let (status, body) = core
        .patch(
            &format!("{path}/{admin_id}"),
            &a.admin_token,
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        admins(&core, "proj", &a.admin_token).await,
        std::slice::from_ref(&u2)
    );
    let (status, body) = core
        .patch(
            &format!("{path}/{u2}"),
            &a.admin_token,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "LAST_WORKSPACE_ADMIN");

    // Concurrent demotions (and removals) of the two admins: exactly one succeeds.
    for round in 0..4 {
        let (status, _) = core
            .patch(
                &format!("{path}/{admin_id}"),
                &a.admin_token,
                json!({ "role": "admin" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = core
            .patch(
                &format!("{path}/{u2}"),
                &a.admin_token,
                json!({ "role": "admin" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(admins(&core, "proj", &a.admin_token).await.len(), 2);
        let first = format!("{path}/{admin_id}");
        let second = format!("{path}/{u2}");
        let ((s1, b1), (s2, b2)) = if round % 2 == 0 {
            tokio::join!(
                core.patch(&first, &a.admin_token, json!({ "role": "member" })),
                core.patch(&second, &a.admin_token, json!({ "role": "viewer" }))
            )
        } else {
            // Removal of one and demotion of the other, at once.
            let (r1, r2) = tokio::join!(
                core.delete(&first, &a.admin_token),
                core.patch(&second, &a.admin_token, json!({ "role": "member" }))
            );
            (r1, r2)
        };
        let ok = [s1, s2]
            .iter()
            .filter(|s| **s == StatusCode::OK || **s == StatusCode::NO_CONTENT)
            .count();
        let refused = [(&s1, &b1), (&s2, &b2)]
            .iter()
            .filter(|(s, b)| {
                **s == StatusCode::CONFLICT && b["error"]["code"] == "LAST_WORKSPACE_ADMIN"
            })
            .count();
        assert_eq!(
            (ok, refused),
            (1, 1),
            "round {round}: {s1} {b1} / {s2} {b2}"
        );
        assert_eq!(
            admins(&core, "proj", &a.admin_token).await.len(),
            1,
            "round {round}: exactly one admin left"
        );
        if round % 2 == 1 && s1 == StatusCode::NO_CONTENT {
            let (status, _) = core
                .post(
                    &path,
                    &a.admin_token,
                    json!({ "user_id": admin_id, "role": "member" }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
    }

    // Removing a non-admin member works, and twice is 404.
    let (status, _) = core.delete(&format!("{path}/{u3}"), &a.admin_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = core.delete(&format!("{path}/{u3}"), &a.admin_token).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
    let (status, body) = core
        .patch(
            &format!("{path}/{u3}"),
            &a.admin_token,
            json!({ "role": "admin" }),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
});

on_both_backends!(teams, |core| {
    let a = core.tenant("alpha").await;
    let admin_id = core.me_id(&a.admin_token).await;
    let (mem_id, mem) = core.user(&a, "mem@alpha.test", &["member"]).await;
    let (view_id, view) = core.user(&a, "view@alpha.test", &["member"]).await;
    let out_id = core.add_user(&a, "out@alpha.test", &["member"]).await;
    let (status, _) = core
        .post(
            WS,
            &a.admin_token,
            json!({ "slug": "proj", "name": "Project" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (id, role) in [(&mem_id, "member"), (&view_id, "viewer")] {
        let (status, _) = core
            .post(
                &format!("{WS}/proj/members"),
                &a.admin_token,
                json!({ "user_id": id, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let teams = format!("{WS}/proj/teams");

    let (status, team) = core
        .post(&teams, &a.admin_token, json!({ "name": "core", "description": "the core team", "members": [mem_id, admin_id, mem_id] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let mut expected = vec![admin_id.clone(), mem_id.clone()];
    expected.sort();
    assert_eq!(team["members"], json!(expected), "members deduplicated");
    assert_eq!(team["name"], "core");
    let (status, body) = core
        .post(
            &teams,
            &a.admin_token,
            json!({ "name": "core", "members": [] }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "TEAM_EXISTS");
    for outsider in [out_id.as_str(), "u_nobody"] {
        let (status, body) = core
            .post(
                &teams,
                &a.admin_token,
                json!({ "name": "leaky", "members": [admin_id, outsider] }),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(body["error"]["details"]["field"], "members");
    }
    let (status, body) = core
        .post(&teams, &a.admin_token, json!({ "name": "", "members": [] }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );

    // A workspace MEMBER may create a team; a VIEWER may not (but sees them).
    let (status, body) = core
        .post(
            &teams,
            &mem,
            json!({ "name": "mem-team", "members": [mem_id] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = core
        .post(&teams, &view, json!({ "name": "view-team", "members": [] }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "WORKSPACE_ROLE_REQUIRED",
    );
    let (status, list) = core.get(&teams, &view).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["core", "mem-team"]);
    let (_, ws) = core.get(&format!("{WS}/proj"), &view).await;
    assert_eq!(ws["team_count"], 2);
    assert_eq!(ws["role"], "viewer");

    // Removing a member takes them out of the workspace's teams.
    let (status, _) = core
        .delete(&format!("{WS}/proj/members/{mem_id}"), &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = core.get(&teams, &a.admin_token).await;
    let core_team = list
        .as_array()
        .expect("teams")
        .iter()
        .find(|t| t["name"] == "core")
        .expect("core team");
    assert_eq!(core_team["members"], json!([admin_id]));
    let (status, _) = core.get(&teams, &mem).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a removed member no longer sees the workspace"
    );
});

on_both_backends!(delete_rules, |core| {
    let a = core.tenant("alpha").await;
    let other = core.add_user(&a, "other@alpha.test", &["member"]).await;

    for query in ["", "?force=true"] {
        let (status, body) = core
            .delete(&format!("{WS}/default{query}"), &a.admin_token)
            .await;
        assert_error(status, &body, StatusCode::CONFLICT, "DEFAULT_WORKSPACE");
    }
    for slug in ["with-member", "with-team", "empty"] {
        let (status, _) = core
            .post(WS, &a.admin_token, json!({ "slug": slug, "name": slug }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = core
        .post(
            &format!("{WS}/with-member/members"),
            &a.admin_token,
            json!({ "user_id": other, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = core
        .post(
            &format!("{WS}/with-team/teams"),
            &a.admin_token,
            json!({ "name": "t", "members": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    for slug in ["with-member", "with-team"] {
        for query in ["", "?force=false"] {
            let (status, body) = core
                .delete(&format!("{WS}/{slug}{query}"), &a.admin_token)
                .await;
            assert_error(status, &body, StatusCode::CONFLICT, "WORKSPACE_NOT_EMPTY");
        }
        let (status, _) = core.get(&format!("{WS}/{slug}"), &a.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{slug} is still there");
        let (status, body) = core
            .delete(&format!("{WS}/{slug}?force=true"), &a.admin_token)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{slug}: {body}");
        let (status, body) = core.get(&format!("{WS}/{slug}"), &a.admin_token).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "WORKSPACE_NOT_FOUND");
    }
    let (status, body) = core
        .delete(&format!("{WS}/with-team?force=maybe"), &a.admin_token)
        .await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::NOT_FOUND,
        "{status} {body}"
    );
    // Only the caller in it: no force needed.
    let (status, body) = core.delete(&format!("{WS}/empty"), &a.admin_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, page) = core.get(WS, &a.admin_token).await;
    assert_eq!(slugs(&page), ["default"]);
    // A deleted slug can be used again, and the member's rows went with the workspace.
    let (status, ws) = core
        .post(
            WS,
            &a.admin_token,
            json!({ "slug": "with-member", "name": "Again" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    assert_eq!(ws["member_count"], 1);
    let (_, list) = core
        .get(&format!("{WS}/with-member/members"), &a.admin_token)
        .await;
    assert_eq!(list.as_array().expect("members").len(), 1, "{list}");
});

on_both_backends!(users_last_admin_and_role_escalation, |core| {
    let a = core.tenant("alpha").await;
    // A member who is the only admin of their workspace cannot be deleted.
    let (m_id, m) = core.user(&a, "m@alpha.test", &["member"]).await;
    let (status, _) = core
        .post(WS, &m, json!({ "slug": "m-ws", "name": "Mine" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let user_path = format!("/api/v1/tenants/alpha/users/{m_id}");
    let (status, body) = core.delete(&user_path, &a.admin_token).await;
    assert_error(status, &body, StatusCode::CONFLICT, "LAST_WORKSPACE_ADMIN");
    assert_eq!(body["error"]["details"]["workspaces"], json!(["m-ws"]));
    let (status, _) = core.get(&user_path, &a.admin_token).await;
    assert_eq!(status, StatusCode::OK, "the user is still there");
    // With another admin in the workspace, the user can go.
    let admin_id = core.me_id(&a.admin_token).await;
    let (status, _) = core
        .post(
            &format!("{WS}/m-ws/members"),
            &a.admin_token,
            json!({ "user_id": admin_id, "role": "admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = core.delete(&user_path, &a.admin_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = core.get(&user_path, &a.admin_token).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "USER_NOT_FOUND");
    let (_, list) = core
        .get(&format!("{WS}/m-ws/members"), &a.admin_token)
        .await;
    assert_eq!(list.as_array().expect("members").len(), 1, "{list}");
    // The tenant admin is the last admin of `default`.
    let (status, body) = core
        .delete(
            &format!("/api/v1/tenants/alpha/users/{admin_id}"),
            &a.admin_token,
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "LAST_WORKSPACE_ADMIN");

    // A custom role with `users:write` cannot hand out roles wider than itself.
    let (status, role) = core
        .post(
            "/api/v1/tenants/alpha/roles",
            &a.admin_token,
            json!({ "name": "hr", "permissions": ["users:read", "users:write", "workspaces:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    assert_eq!(role["builtin"], false);
    let (_, hr) = core.user(&a, "hr@alpha.test", &["hr"]).await;
    let users = "/api/v1/tenants/alpha/users";
    for (email, roles) in [
        ("boss@alpha.test", json!(["admin"])),
        ("mem@alpha.test", json!(["member"])),
        ("mix@alpha.test", json!(["guest", "admin"])),
    ] {
        let (status, body) = core
            .post(
                users,
                &hr,
                json!({ "email": email, "password": "password-123", "roles": roles }),
            )
            .await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
        let (status, _) = core.get(&format!("{users}?per_page=100"), &hr).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = core
        .post(
            users,
            &hr,
            json!({ "email": "g@alpha.test", "password": "password-123", "roles": ["guest"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["roles"], json!(["guest"]));
    let (status, body) = core
        .post(
            users,
            &hr,
            json!({ "email": "h2@alpha.test", "password": "password-123", "roles": ["hr"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "its own role is not wider: {body}"
    );
    // None of the refused users exist.
    let (_, page) = core
        .get(&format!("{users}?per_page=100"), &a.admin_token)
        .await;
    let emails: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect();
    for refused in ["boss@alpha.test", "mem@alpha.test", "mix@alpha.test"] {
        assert!(
            !emails.contains(&refused),
            "{refused} was created: {emails:?}"
        );
    }
    // Nor can it make roles or change roles (no `roles:write`).
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/roles",
            &hr,
            json!({ "name": "boss", "permissions": ["*"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let hr_id = core.me_id(&hr).await;
    let (status, _) = core
        .call(
            reqwest::Method::PUT,
            &format!("{users}/{hr_id}/roles"),
            Some(&hr),
            Some(json!({ "roles": ["admin"] })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = core.get("/api/v1/auth/me", &hr).await;
    assert_eq!(me["roles"], json!(["hr"]));
    // Role names and permissions are validated.
    for body in [
        json!({ "name": "Bad Name", "permissions": ["users:read"] }),
        json!({ "name": "ok", "permissions": [] }),
        json!({ "name": "ok", "permissions": ["users"] }),
        json!({ "name": "ok", "permissions": ["users:read; DROP TABLE roles"] }),
    ] {
        let (status, response) = core
            .post("/api/v1/tenants/alpha/roles", &a.admin_token, body)
            .await;
        assert_error(
            status,
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
    }
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/roles",
            &a.admin_token,
            json!({ "name": "hr", "permissions": ["users:read"] }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "ROLE_EXISTS");
});

on_both_backends!(deleted_user_is_logged_out_at_once, |core| {
    let a = core.tenant("alpha").await;
    let (id, token) = core.user(&a, "leaver@alpha.test", &["member"]).await;
    let (status, created) = core
        .post("/api/v1/auth/tokens", &token, json!({ "name": "before" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let api_token = created["token"].as_str().expect("token").to_owned();
    let (status, body) = core
        .delete(&format!("/api/v1/tenants/alpha/users/{id}"), &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The API token made before is revoked with the user.
    let (status, body) = core.get("/api/v1/auth/me", &api_token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "API token of a deleted user: {body}"
    );
    // The access token too, at once (a logout takes effect at once as well); above all it
    // must not mint a new API token that outlives the user.
    let (status, body) = core
        .post("/api/v1/auth/tokens", &token, json!({ "name": "after" }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted user's access token created an API token: {body}"
    );
    let (status, body) = core.get("/api/v1/auth/me", &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted user's access token: {body}"
    );
    let (status, _) = core.get(WS, &token).await;
    assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN);
});
