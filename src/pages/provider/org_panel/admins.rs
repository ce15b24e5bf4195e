//! The organisation's admins in the panel: roles, API access, Remove and Add.

use super::PanelActions;
use crate::api::provider::{AddOrgAdmin, RemoveOrgAdmin, SetOrgAdminApiAccess};
use crate::model::{Member, Permission, ProviderOrg, Role};
use crate::pages::provider::confirm::{self, Confirmer};
use leptos::prelude::*;

#[component]
pub(super) fn Admins(org: ProviderOrg, actions: PanelActions) -> impl IntoView {
    view! {
        <section aria-labelledby="admins-title">
            <h3 id="admins-title">"Administrators"</h3>
            <MemberList org=org.short_name.clone() members=org.members actions />
            <AddAdminForm org=org.short_name action=actions.add_admin />
        </section>
    }
}

/// The organisation's admins: role, API access with Grant / Revoke (for
/// roles that may hold it), and Remove.
#[component]
fn MemberList(org: String, members: Vec<Member>, actions: PanelActions) -> impl IntoView {
    view! {
        // Named apart from its section, whose landmark has the heading's name.
        <div class="table-scroll" tabindex="0" role="region" aria-label="Administrators (scrollable)">
            <table class="data-table member-table">
                <thead>
                    <tr>
                        <th scope="col">"Username"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"API access"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {members
                        .into_iter()
                        .map(|m| view! { <MemberRow org=org.clone() member=m actions /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn MemberRow(org: String, member: Member, actions: PanelActions) -> impl IntoView {
    let username = member.username.clone();
    let grantable = member.role.allows(Permission::UseApi);
    let access = match (member.api_access, grantable) {
        (true, _) => "Granted",
        (false, true) => "Not granted",
        (false, false) => "Not available for this role",
    };
    let toggle = grantable.then(|| {
        let (org, who) = (org.clone(), username.clone());
        let granted = !member.api_access;
        let label = if granted { "Grant" } else { "Revoke" };
        view! {
            <button type="button" class="link" aria-label=format!("{label} API access for {username}") on:click=move |_| {
                actions.api_access.dispatch(SetOrgAdminApiAccess { org: org.clone(), username: who.clone(), granted });
            }>{label}</button>
        }
    });
    let who = username.clone();
    let confirmer = Confirmer::get();
    let removed = member.clone();
    view! {
        <tr>
            <th scope="row">{username.clone()}</th>
            <td class="role">{member.role.label()}</td>
            <td class="api-access">
                <span class="status" class:status-disabled=!member.api_access>{access}</span>
                " "
                {toggle}
            </td>
            <td>
                <button type="button" class="link danger" aria-label=format!("Remove {username}") on:click=move |_| {
                    let change = RemoveOrgAdmin { org: org.clone(), username: who.clone() };
                    confirmer.ask(
                        confirm::remove_admin(&confirmer.org_name(), &removed),
                        Callback::new(move |_| { actions.remove_admin.dispatch(change.clone()); }),
                    );
                }>"Remove"</button>
            </td>
        </tr>
    }
}

/// Adds an admin by username and role; the password is for new accounts.
/// API access starts at the role's default, and can only be ticked for
/// roles that may hold it.
#[component]
fn AddAdminForm(org: String, action: ServerAction<AddOrgAdmin>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let role = RwSignal::new(Role::ApiAdmin.as_str().to_owned());
    let password = RwSignal::new(String::new());
    let api_access = RwSignal::new(Role::ApiAdmin.api_access_by_default());
    let grantable = move || {
        role.get()
            .parse::<Role>()
            .is_ok_and(|r| r.allows(Permission::UseApi))
    };
    let error = move || {
        action.value().get().and_then(Result::err).map(|e| {
            ["username", "password", "role", "api_access"]
                .iter()
                .find_map(|f| e.field(f).map(str::to_owned))
                .unwrap_or_else(|| e.to_string())
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(role) = role.get_untracked().parse::<Role>() else {
            return;
        };
        action.dispatch(AddOrgAdmin {
            org: org.clone(),
            username: username.get_untracked(),
            role,
            password: password.get_untracked(),
            api_access: Some(api_access.get_untracked() && role.allows(Permission::UseApi)),
        });
        password.set(String::new());
    };
    view! {
        <form class="inline-form" on:submit=submit novalidate>
            <div>
                <label for="admin-username">"Username"</label>
                <input id="admin-username" type="email" autocomplete="off" bind:value=username />
            </div>
            <div>
                <label for="admin-role">"Role"</label>
                <RoleSelect role api_access />
            </div>
            <div class="checkbox">
                <input id="admin-api-access" type="checkbox" bind:checked=api_access disabled=move || !grantable() />
                <label for="admin-api-access">"API access"</label>
            </div>
            <div>
                <label for="admin-password">"Initial password (new accounts)"</label>
                <input id="admin-password" type="password" autocomplete="new-password" bind:value=password />
            </div>
            <button type="submit" disabled=move || action.pending().get()>"Add administrator"</button>
        </form>
        <p class="field-error" role="alert">{error}</p>
    }
}

/// The new admin's role; choosing one resets API access to its default.
#[component]
fn RoleSelect(role: RwSignal<String>, api_access: RwSignal<bool>) -> impl IntoView {
    view! {
        <select id="admin-role" on:change=move |ev| {
            let value = event_target_value(&ev);
            api_access.set(value.parse::<Role>().is_ok_and(Role::api_access_by_default));
            role.set(value);
        }>
            {Role::ALL
                .into_iter()
                .map(|r| view! { <option value=r.as_str() selected=r == Role::ApiAdmin>{r.label()}</option> })
                .collect_view()}
        </select>
    }
}
