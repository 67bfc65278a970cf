//! `#[derive(Encode, Decode, Size)]` for e2ee-core: a structure's fields,
//! or an enum's discriminant and its variant's fields, in declaration order
//! (RFC 9420 §2.1), written into one [`Writer`], read from one [`Reader`],
//! or measured.
//!
//! Enums carry `#[repr(u8)]` or `#[repr(u16)]`; a variant's discriminant is
//! its explicit value (`A = 1`) or `#[codec(discriminant = N)]`.
//! The generated code names `::e2ee_core::codec`, so applications derive
//! the codec of their own structures (an extension's body, say) with
//! `#[derive(e2ee_core::codec::Encode, ...)]`; e2ee-core names itself so.
//!
//! [`Writer`]: ../e2ee_core/codec/struct.Writer.html
//! [`Reader`]: ../e2ee_core/codec/struct.Reader.html
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Error, Expr, Fields, Ident, parse_macro_input};

/// Derives `e2ee_core::codec::Encode`.
#[proc_macro_derive(Encode, attributes(codec))]
pub fn derive_encode(input: TokenStream) -> TokenStream {
    let signature = quote! { fn encode_to(&self, w: &mut ::e2ee_core::codec::Writer) };
    derive(input, quote! { Encode }, signature, encode_body, fixed_len)
}

/// Derives `e2ee_core::codec::Decode`. An enum's unknown discriminant is
/// `CodecError::InvalidValue`.
#[proc_macro_derive(Decode, attributes(codec))]
pub fn derive_decode(input: TokenStream) -> TokenStream {
    let signature = quote! {
        fn decode_from(r: &mut ::e2ee_core::codec::Reader<'_>) -> Result<Self, ::e2ee_core::codec::CodecError>
    };
    derive(input, quote! { Decode }, signature, decode_body, |_| quote! {})
}

/// Derives `e2ee_core::codec::Size`: the encoded length.
#[proc_macro_derive(Size, attributes(codec))]
pub fn derive_size(input: TokenStream) -> TokenStream {
    derive(
        input,
        quote! { Size },
        quote! { fn encoded_len(&self) -> usize },
        size_body,
        |_| quote! {},
    )
}

/// The impl of `e2ee_core::codec::<trait_name>` for the input type: its
/// method, `signature`, with the body `body` makes of the input, and the
/// items `more` makes of it.
fn derive(
    input: TokenStream,
    trait_name: Tokens,
    signature: Tokens,
    body: fn(&DeriveInput) -> Result<Tokens, Error>,
    more: fn(&DeriveInput) -> Tokens,
) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let more = more(&input);
    match body(&input) {
        Ok(body) => quote! {
            impl #impl_generics ::e2ee_core::codec::#trait_name for #name #type_generics #where_clause {
                #signature {
                    #body
                }
                #more
            }
        },
        Err(e) => e.into_compile_error(),
    }
    .into()
}

fn encode_body(input: &DeriveInput) -> Result<Tokens, Error> {
    match &input.data {
        Data::Struct(data) => {
            let (pattern, writes) = destructure(&data.fields);
            Ok(quote! { let Self #pattern = self; #writes })
        }
        Data::Enum(data) => {
            let repr = repr(input)?;
            let arms = data.variants.iter().map(|variant| {
                let discriminant = discriminant(variant)?;
                let name = &variant.ident;
                let (pattern, writes) = destructure(&variant.fields);
                Ok(quote! {
                    Self::#name #pattern => {
                        ::e2ee_core::codec::Encode::encode_to(&((#discriminant) as #repr), w);
                        #writes
                    }
                })
            });
            let arms = arms.collect::<Result<Vec<_>, Error>>()?;
            Ok(quote! { match self { #(#arms)* } })
        }
        Data::Union(_) => Err(not_for_unions()),
    }
}

/// `Encode::fixed_len` of a structure: the sum of its fields', when each
/// has one. An enum's variants may differ, so it keeps the default (none).
fn fixed_len(input: &DeriveInput) -> Tokens {
    let Data::Struct(data) = &input.data else {
        return quote! {};
    };
    let types = data.fields.iter().map(|f| &f.ty);
    quote! {
        fn fixed_len() -> Option<usize> {
            ::e2ee_core::codec::sum_of_fixed(&[#(<#types as ::e2ee_core::codec::Encode>::fixed_len()),*])
        }
    }
}

fn decode_body(input: &DeriveInput) -> Result<Tokens, Error> {
    match &input.data {
        Data::Struct(data) => {
            let build = construct(quote! { Self }, &data.fields);
            Ok(quote! { Ok(#build) })
        }
        Data::Enum(data) => {
            let repr = repr(input)?;
            let arms = data.variants.iter().map(|variant| {
                let discriminant = discriminant(variant)?;
                let name = &variant.ident;
                let build = construct(quote! { Self::#name }, &variant.fields);
                Ok(quote! { d if d == (#discriminant) as #repr => Ok(#build), })
            });
            let arms = arms.collect::<Result<Vec<_>, Error>>()?;
            Ok(quote! {
                match <#repr as ::e2ee_core::codec::Decode>::decode_from(r)? {
                    #(#arms)*
                    _ => Err(::e2ee_core::codec::CodecError::InvalidValue),
                }
            })
        }
        Data::Union(_) => Err(not_for_unions()),
    }
}

fn size_body(input: &DeriveInput) -> Result<Tokens, Error> {
    match &input.data {
        Data::Struct(data) => {
            let (pattern, sum) = measure(&data.fields);
            Ok(quote! { let Self #pattern = self; #sum })
        }
        Data::Enum(data) => {
            let repr = repr(input)?;
            let arms = data.variants.iter().map(|variant| {
                let name = &variant.ident;
                let (pattern, sum) = measure(&variant.fields);
                quote! { Self::#name #pattern => #sum, }
            });
            Ok(quote! { core::mem::size_of::<#repr>() + match self { #(#arms)* } })
        }
        Data::Union(_) => Err(not_for_unions()),
    }
}

fn not_for_unions() -> Error {
    Error::new(Span::call_site(), "the codec derives are for structs and enums")
}

/// A pattern binding every field, and the sum of their encoded lengths.
fn measure(fields: &Fields) -> (Tokens, Tokens) {
    let (pattern, _) = destructure(fields);
    let bindings = (0..fields.len()).map(|i| format_ident!("f{i}"));
    (
        pattern,
        quote! { 0 #(+ ::e2ee_core::codec::Size::encoded_len(#bindings))* },
    )
}

/// `path` built from its fields, each decoded in order.
fn construct(path: Tokens, fields: &Fields) -> Tokens {
    let read = quote! { ::e2ee_core::codec::Decode::decode_from(r)? };
    match fields {
        Fields::Named(named) => {
            let names = named.named.iter().map(|f| f.ident.as_ref());
            quote! { #path { #(#names: #read),* } }
        }
        Fields::Unnamed(unnamed) => {
            let reads = unnamed.unnamed.iter().map(|_| &read);
            quote! { #path ( #(#reads),* ) }
        }
        Fields::Unit => path,
    }
}

/// A pattern binding every field, and the writes of the bindings in order.
fn destructure(fields: &Fields) -> (Tokens, Tokens) {
    let bindings: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("f{i}")).collect();
    let pattern = match fields {
        Fields::Named(named) => {
            let names = named.named.iter().map(|f| f.ident.as_ref());
            quote! { { #(#names: #bindings),* } }
        }
        Fields::Unnamed(_) => quote! { ( #(#bindings),* ) },
        Fields::Unit => quote! {},
    };
    let writes = quote! { #(::e2ee_core::codec::Encode::encode_to(#bindings, w);)* };
    (pattern, writes)
}

/// The integer type of `#[repr(..)]`.
fn repr(input: &DeriveInput) -> Result<Ident, Error> {
    let mut found = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        attr.parse_nested_meta(|meta| {
            found = meta.path.get_ident().cloned();
            Ok(())
        })?;
    }
    found.ok_or_else(|| Error::new(input.ident.span(), "an enum needs #[repr(u8)] or #[repr(u16)]"))
}

/// The explicit discriminant or `#[codec(discriminant = N)]`.
fn discriminant(variant: &syn::Variant) -> Result<Expr, Error> {
    if let Some((_, value)) = &variant.discriminant {
        return Ok(value.clone());
    }
    let mut found = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("codec")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("discriminant") {
                found = Some(meta.value()?.parse::<Expr>()?);
                Ok(())
            } else {
                Err(meta.error("only `discriminant` is read here"))
            }
        })?;
    }
    found.ok_or_else(|| Error::new(variant.ident.span(), "a variant needs an explicit discriminant"))
}
