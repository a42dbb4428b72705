//! Layer 3, syntax helpers: where syn's nodes sit in the original text ([`Src`]) and small
//! questions about their shape that several planners ask.

mod spans;

pub(crate) use spans::Src;

use syn::Expr;

/// `e` without the parentheses (and invisible groups) around it.
pub(crate) fn peel(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => peel(&p.expr),
        Expr::Group(g) => peel(&g.expr),
        _ => e,
    }
}

/// Every identifier a pattern binds.
pub(crate) fn pat_idents(p: &syn::Pat, out: &mut Vec<String>) {
    use syn::Pat::*;
    match p {
        Ident(i) => {
            out.push(i.ident.to_string());
            if let Some((_, sub)) = &i.subpat {
                pat_idents(sub, out);
            }
        }
        Type(t) => pat_idents(&t.pat, out),
        Reference(r) => pat_idents(&r.pat, out),
        Paren(pp) => pat_idents(&pp.pat, out),
        Tuple(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        TupleStruct(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        Slice(s) => s.elems.iter().for_each(|e| pat_idents(e, out)),
        Or(o) => o.cases.iter().for_each(|e| pat_idents(e, out)),
        Struct(s) => s.fields.iter().for_each(|f| pat_idents(&f.pat, out)),
        _ => {}
    }
}
