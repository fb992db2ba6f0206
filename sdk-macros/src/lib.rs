//! Procedural macros of `plexica-sdk`. Use them through `plexica_sdk` (its `prelude` brings
//! [`macro@event_handler`] and [`macro@hook`] into scope); this crate is an implementation detail.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, FnArg, Ident, ItemFn, Lit, LitStr, Path, ReturnType, Token, Type};

/// Registers an `async fn` as the handler of an event type or subscription pattern.
///
/// ```ignore
/// use plexica_sdk::prelude::*;
///
/// #[derive(Deserialize)]
/// struct WorkspaceCreated { workspace_id: String }
///
/// #[event_handler("core.workspace.created", retries = 5)]
/// async fn seed(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
///     println!("{} created {}", ctx.tenant(), ev.workspace_id);
///     Ok(())
/// }
/// ```
///
/// The first argument is an event type (`core.workspace.created`) or a pattern ending in `.*`
/// (`plugin.billing.invoice.*`), checked at compile time by
/// `plexica_sdk::event_name::check_event_pattern`, the rule the manifest validator applies.
/// Options:
///
/// - `retries = N`: how many times a failed delivery is retried before it is dead-lettered
///   (default: the platform's setting).
/// - `workspace = "required"`: only events that belong to a workspace reach the handler
///   (`ctx.workspace()` is then always `Some`); others are skipped.
/// - `crate = "path"`: where `plexica-sdk` is found, for crates that rename the dependency
///   (default `::plexica_sdk`; the SDK's own tests use `"crate"`).
///
/// The function must be `async fn name(ctx: &Context, ev: Event<T>) -> Result<()>` with
/// `T: serde::de::DeserializeOwned`; it stays callable as written, and is listed by
/// `plexica_sdk::handlers()` without any manual registration.
#[proc_macro_attribute]
pub fn event_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match expand(attr.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        // Keep the item as written so the one error is not followed by "cannot find function".
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#error #item).into()
        }
    }
}

/// Registers an `async fn` as one of the plugin's lifecycle hooks, which the platform calls
/// when the plugin is installed in, uninstalled from, activated in or deactivated in a tenant.
///
/// ```ignore
/// use plexica_sdk::prelude::*;
///
/// #[hook(on_install)]
/// async fn install(ctx: &Context) -> Result<()> {
///     println!("installed in {}", ctx.tenant());
///     Ok(())
/// }
/// ```
///
/// The argument is one of `on_install`, `on_uninstall`, `on_activate`, `on_deactivate`,
/// optionally followed by `crate = "path"` as for [`macro@event_handler`]. The function must be
/// `async fn name(ctx: &Context) -> Result<()>`; it stays callable as written, and is listed by
/// `plexica_sdk::hooks()`. A plugin has at most one function per hook (checked at start-up).
#[proc_macro_attribute]
pub fn hook(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match expand_hook(attr.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#error #item).into()
        }
    }
}

/// The hooks a plugin can implement, as written in `#[hook(…)]`, with their runtime variant.
const HOOKS: [(&str, &str); 4] = [
    ("on_install", "OnInstall"),
    ("on_uninstall", "OnUninstall"),
    ("on_activate", "OnActivate"),
    ("on_deactivate", "OnDeactivate"),
];

/// The parsed arguments of `#[hook(…)]`.
struct HookArgs {
    variant: Ident,
    krate: Path,
}

fn parse_hook_args(input: ParseStream<'_>) -> syn::Result<HookArgs> {
    const USAGE: &str = "expected a hook: `on_install`, `on_uninstall`, `on_activate` or `on_deactivate`, e.g. #[hook(on_install)]";
    if input.is_empty() {
        return Err(syn::Error::new(Span::call_site(), USAGE));
    }
    let hook = input.call(Ident::parse_any)?;
    let Some((_, variant)) = HOOKS.iter().find(|(name, _)| hook == name) else {
        let message = match HOOKS.iter().map(|(name, _)| *name).find(|name| {
            name.trim_start_matches("on_") == hook.to_string().trim_start_matches("on_")
        }) {
            Some(name) => format!("unknown hook `{hook}`; did you mean `{name}`?"),
            None => format!("unknown hook `{hook}`; {USAGE}"),
        };
        return Err(syn::Error::new_spanned(&hook, message));
    };
    let variant = Ident::new(variant, hook.span());
    let mut krate: Option<(Ident, Path)> = None;
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key = input.call(Ident::parse_any)?;
        if key != "crate" {
            return Err(syn::Error::new_spanned(
                &key,
                format!(
                    "unknown option `{key}`; a hook takes only `crate = \"path\"` after its name"
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        reject_duplicate(&krate, &key)?;
        krate = Some((key, parse_crate_path(&value)?));
    }
    Ok(HookArgs {
        variant,
        krate: krate.map_or_else(|| syn::parse_quote!(::plexica_sdk), |(_, path)| path),
    })
}

fn expand_hook(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    const SHAPE: &str = "hooks have the signature `async fn name(ctx: &Context) -> Result<()>`";
    let HookArgs { variant, krate } = parse_hook_args.parse2(attr)?;
    let func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[hook] applies to an `async fn name(ctx: &Context) -> Result<()>`",
        )
    })?;
    let typed = check_common(&func, "hooks", SHAPE)?;
    let [context] = typed[..] else {
        return Err(if func.sig.inputs.is_empty() {
            syn::Error::new(func.sig.paren_token.span.join(), SHAPE)
        } else {
            syn::Error::new_spanned(&func.sig.inputs, SHAPE)
        });
    };
    let ReturnType::Type(_, output) = &func.sig.output else {
        return Err(syn::Error::new(func.sig.paren_token.span.close(), SHAPE));
    };
    let name = &func.sig.ident;
    let name_str = name.unraw().to_string();
    let invoke = format_ident!("__plexica_hook_{}", name.unraw());
    let bind_context = quote_spanned! {at(context)=>
        let ctx: #context = &ctx;
    };
    let call = quote_spanned! {at(output)=>
        let outcome: #krate::runtime::Result<()> = #name(ctx).await;
        outcome
    };
    let boxed = quote_spanned! {at(name)=>
        ::std::boxed::Box::pin(async move {
            #bind_context
            #call
        })
    };
    Ok(quote! {
        #func

        const _: () = {
            fn #invoke(ctx: #krate::runtime::Context) -> #krate::runtime::HandlerFuture {
                #boxed
            }

            #krate::__private::inventory::submit! {
                #krate::runtime::HookRegistration {
                    hook: #krate::runtime::Hook::#variant,
                    name: #name_str,
                    invoke: #invoke,
                }
            }
        };
    })
}

/// The parsed arguments of `#[event_handler(…)]`.
struct Args {
    event_type: LitStr,
    retries: Option<u32>,
    workspace_required: bool,
    krate: Path,
}

fn parse_args(input: ParseStream<'_>) -> syn::Result<Args> {
    const USAGE: &str = "expected an event type, e.g. #[event_handler(\"core.workspace.created\")]";
    if input.is_empty() {
        return Err(syn::Error::new(Span::call_site(), USAGE));
    }
    let event_type = match input.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
        other => return Err(syn::Error::new_spanned(other, USAGE)),
    };
    let mut retries: Option<(Ident, u32)> = None;
    let mut krate: Option<(Ident, Path)> = None;
    let mut workspace: Option<(Ident, bool)> = None;
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        match key.to_string().as_str() {
            "retries" => {
                reject_duplicate(&retries, &key)?;
                retries = Some((key, parse_retries(&value)?));
            }
            "crate" => {
                reject_duplicate(&krate, &key)?;
                krate = Some((key, parse_crate_path(&value)?));
            }
            "workspace" => {
                reject_duplicate(&workspace, &key)?;
                workspace = Some((key, parse_workspace(&value)?));
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown option `{key}`; expected `retries = N`, `workspace = \"required\"` or `crate = \"path\"`"
                    ),
                ));
            }
        }
    }
    Ok(Args {
        event_type,
        retries: retries.map(|(_, n)| n),
        workspace_required: workspace.is_some_and(|(_, required)| required),
        krate: krate.map_or_else(|| syn::parse_quote!(::plexica_sdk), |(_, path)| path),
    })
}

fn reject_duplicate<T>(seen: &Option<(Ident, T)>, key: &Ident) -> syn::Result<()> {
    match seen {
        Some(_) => Err(syn::Error::new_spanned(
            key,
            format!("duplicate option `{key}`"),
        )),
        None => Ok(()),
    }
}

fn parse_retries(value: &Expr) -> syn::Result<u32> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => n.base10_parse::<u32>(),
        other => Err(syn::Error::new_spanned(
            other,
            "`retries` takes a whole number, e.g. `retries = 5`",
        )),
    }
}

fn parse_workspace(value: &Expr) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if s.value() == "required" => Ok(true),
        other => Err(syn::Error::new_spanned(
            other,
            "`workspace` takes `\"required\"` (events without a workspace are skipped)",
        )),
    }
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse_with(Path::parse_mod_style),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` takes a path in a string, e.g. `crate = \"::plexica_sdk\"`",
        )),
    }
}

/// The two typed parameters of a handler, checked for shape only; their types are checked by
/// the compiler in the generated adapter, with errors pointing at them.
struct Params<'a> {
    context: &'a Type,
    event: &'a Type,
    output: &'a Type,
}

/// Checks what handlers and hooks share (async, not unsafe, not generic, no `self`) and returns
/// the types of the typed parameters; `what` names the kind in messages.
fn check_common<'a>(func: &'a ItemFn, what: &str, shape: &str) -> syn::Result<Vec<&'a Type>> {
    let sig = &func.sig;
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new_spanned(
            unsafety,
            format!("{what} cannot be `unsafe`"),
        ));
    }
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!("{what} must be `async fn`"),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("{what} cannot be generic"),
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        return Err(syn::Error::new_spanned(
            where_clause,
            format!("{what} cannot be generic"),
        ));
    }
    let mut typed = Vec::with_capacity(2);
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    receiver,
                    format!("{what} are free functions; they take no `self`; {shape}"),
                ));
            }
            FnArg::Typed(pat) => typed.push(&*pat.ty),
        }
    }
    Ok(typed)
}

fn check_signature(func: &ItemFn) -> syn::Result<Params<'_>> {
    const SHAPE: &str = "event handlers have the signature `async fn name(ctx: &Context, ev: Event<T>) -> Result<()>`";
    let sig = &func.sig;
    let typed = check_common(func, "event handlers", SHAPE)?;
    let [context, event] = typed[..] else {
        return Err(if sig.inputs.is_empty() {
            syn::Error::new(sig.paren_token.span.join(), SHAPE)
        } else {
            syn::Error::new_spanned(&sig.inputs, SHAPE)
        });
    };
    let ReturnType::Type(_, output) = &sig.output else {
        return Err(syn::Error::new(sig.paren_token.span.close(), SHAPE));
    };
    Ok(Params {
        context,
        event,
        output,
    })
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = parse_args.parse2(attr)?;
    let func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[event_handler] applies to an `async fn name(ctx: &Context, ev: Event<T>) -> Result<()>`",
        )
    })?;
    let params = check_signature(&func)?;
    let Args {
        event_type,
        retries,
        workspace_required,
        krate,
    } = args;

    let name = &func.sig.ident;
    let name_str = name.unraw().to_string();
    let invoke = format_ident!("__plexica_invoke_{}", name.unraw());
    let retries = match retries {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };

    let pattern_check = quote_spanned! {event_type.span()=>
        const _: () = match #krate::event_name::check_event_pattern(#event_type) {
            ::core::result::Result::Ok(()) => (),
            ::core::result::Result::Err(e) => ::core::panic!("{}", e.message()),
        };
    };
    // The adapter's statements are located at the user's tokens they check, so that a type error
    // points there, but resolve names at the call site like the rest of the generated code.
    let context_ty = params.context;
    let at_context = at(context_ty);
    let bind_context = quote_spanned! {at_context=>
        let ctx: #context_ty = &ctx;
    };
    let event_ty = params.event;
    let at_event = at(event_ty);
    let krate_at_event = respan(&krate, at_event);
    let bind_event = quote_spanned! {at_event=>
        let ev: #event_ty = #krate_at_event::runtime::Event::from_json(envelope)?;
    };
    let at_output = at(params.output);
    let call = quote_spanned! {at_output=>
        let outcome: #krate::runtime::Result<()> = #name(ctx, ev).await;
        outcome
    };
    // At the name, so that a handler whose future is not `Send` is reported there.
    let boxed = quote_spanned! {at(name)=>
        ::std::boxed::Box::pin(async move {
            #bind_context
            #bind_event
            #call
        })
    };

    Ok(quote! {
        #func

        #pattern_check

        const _: () = {
            fn #invoke(
                ctx: #krate::runtime::Context,
                envelope: #krate::runtime::Envelope,
            ) -> #krate::runtime::HandlerFuture {
                #boxed
            }

            #krate::__private::inventory::submit! {
                #krate::runtime::HandlerRegistration {
                    event_type: #event_type,
                    name: #name_str,
                    retries: #retries,
                    workspace_required: #workspace_required,
                    invoke: #invoke,
                }
            }
        };
    })
}

/// A span located at `tokens` that resolves names at the macro's call site.
fn at(tokens: &impl Spanned) -> Span {
    Span::call_site().located_at(tokens.span())
}

/// `tokens` with every token moved to `span`, so that errors about generated code that starts
/// with them point at the user's code rather than at the attribute.
fn respan(tokens: &impl ToTokens, span: Span) -> TokenStream2 {
    tokens
        .to_token_stream()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
