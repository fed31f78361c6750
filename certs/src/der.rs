//! Reading certificates, and just enough DER writing for what rcgen cannot express.
//!
//! rcgen keeps a distinguished name as a map from attribute type to one value
//! (rustls/rcgen#81), so it cannot write a subject with one `O` per group, and it re-encodes
//! a loaded CA's subject, which loses repeated attributes (`DC=example, DC=com`) and so breaks
//! the chain. [`rewrite_names`] takes a certificate rcgen signed, puts the exact names in and
//! signs it again with the same key.

use rcgen::SigningKey;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer;

use crate::error::{Error, Result};

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const UTF8_STRING: u8 = 0x0c;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT Version` at the start of a v2/v3 TBSCertificate.
const TBS_VERSION: u8 = 0xa0;

/// The attribute type id-at-commonName (2.5.4.3), encoded with its tag.
pub(crate) const COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
/// The attribute type id-at-organizationName (2.5.4.10), encoded with its tag.
pub(crate) const ORGANIZATION: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];

/// Parses one DER certificate; trailing bytes are an error.
pub(crate) fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::ParseCertificate(X509Error::InvalidCertificate)),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(Error::ParseCertificate(e))
        }
        Err(x509_parser::nom::Err::Incomplete(_)) => {
            Err(Error::ParseCertificate(X509Error::InvalidCertificate))
        }
    }
}

/// An X.501 Name with one single-attribute RDN per entry, in order, values as UTF8String.
pub(crate) fn name(attributes: &[(&[u8], &str)]) -> Vec<u8> {
    let rdns: Vec<u8> = attributes
        .iter()
        .flat_map(|(kind, value)| {
            let value = tlv(UTF8_STRING, value.as_bytes());
            tlv(SET, &tlv(SEQUENCE, &[kind, &value[..]].concat()))
        })
        .collect();
    tlv(SEQUENCE, &rdns)
}

/// `certificate` with its issuer and subject replaced by the given encoded Names, signed
/// again by `signer`, which must be the key that signed it (its algorithm is kept).
pub(crate) fn rewrite_names(
    certificate: &[u8],
    issuer: &[u8],
    subject: &[u8],
    signer: &impl SigningKey,
) -> Result<Vec<u8>> {
    let outer = elements(content(certificate, SEQUENCE)?)?;
    let [tbs, algorithm, _signature] = outer[..] else {
        return Err(Error::DecodeDer {
            what: "a certificate is not three elements",
        });
    };
    let mut fields = elements(content(tbs, SEQUENCE)?)?;
    // TBSCertificate: [version], serialNumber, signature, issuer, validity, subject, ...
    let version = usize::from(fields.first().and_then(|f| f.first()) == Some(&TBS_VERSION));
    let (issuer_at, subject_at) = (version + 2, version + 4);
    if fields.len() <= subject_at {
        return Err(Error::DecodeDer {
            what: "a TBSCertificate is too short",
        });
    }
    fields[issuer_at] = issuer;
    fields[subject_at] = subject;
    let tbs = tlv(SEQUENCE, &fields.concat());
    let signature = signer.sign(&tbs).map_err(Error::SignCertificate)?;
    let bits = [&[0u8][..], &signature].concat();
    Ok(tlv(
        SEQUENCE,
        &[&tbs[..], algorithm, &tlv(BIT_STRING, &bits)].concat(),
    ))
}

/// The AlgorithmIdentifier (with its tag) of an encoded SubjectPublicKeyInfo.
pub(crate) fn spki_algorithm(spki: &[u8]) -> Result<&[u8]> {
    elements(content(spki, SEQUENCE)?)?
        .first()
        .copied()
        .ok_or(Error::DecodeDer {
            what: "a SubjectPublicKeyInfo is empty",
        })
}

/// A PKCS#8 PrivateKeyInfo wrapping a PKCS#1 or SEC1 private key of the given algorithm.
pub(crate) fn pkcs8(algorithm: &[u8], private_key: &[u8]) -> Vec<u8> {
    let version = tlv(INTEGER, &[0]);
    let key = tlv(OCTET_STRING, private_key);
    tlv(SEQUENCE, &[&version[..], algorithm, &key].concat())
}

/// One element: `tag`, its length, `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    match u8::try_from(content.len()) {
        Ok(len) if len < 0x80 => out.push(len),
        _ => {
            let len = content.len().to_be_bytes();
            let skip = len.iter().take_while(|b| **b == 0).count();
            // At most size_of::<usize>() length bytes, so the count fits in the low 7 bits.
            out.push(0x80 | (len.len() - skip) as u8);
            out.extend_from_slice(&len[skip..]);
        }
    }
    out.extend_from_slice(content);
    out
}

/// The content of `element`, which must be exactly one element with tag `tag`.
fn content(element: &[u8], tag: u8) -> Result<&[u8]> {
    let (header, total) = header(element)?;
    if element.first() != Some(&tag) || total != element.len() {
        return Err(Error::DecodeDer {
            what: "an element has an unexpected tag or trailing bytes",
        });
    }
    Ok(&element[header..])
}

/// `input` split into its consecutive elements, each with tag and length.
fn elements(mut input: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (_, total) = header(input)?;
        let (element, rest) = input.split_at(total);
        out.push(element);
        input = rest;
    }
    Ok(out)
}

/// The header length and total length of the element at the start of `input`.
fn header(input: &[u8]) -> Result<(usize, usize)> {
    let truncated = Error::DecodeDer {
        what: "an element is truncated or its length is malformed",
    };
    let &[_tag, first, ref rest @ ..] = input else {
        return Err(truncated);
    };
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        let Some(bytes) = rest.get(..count).filter(|_| (1..=4).contains(&count)) else {
            return Err(truncated);
        };
        let len = bytes
            .iter()
            .fold(0usize, |len, byte| len << 8 | usize::from(*byte));
        (2 + count, len)
    };
    match header.checked_add(len) {
        Some(total) if total <= input.len() => Ok((header, total)),
        _ => Err(truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_are_encoded_minimally() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(&tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn elements_split_what_tlv_joined() {
        let long = tlv(OCTET_STRING, &[7; 300]);
        let short = tlv(INTEGER, &[5]);
        let joined = [&long[..], &short].concat();
        assert_eq!(elements(&joined).unwrap(), [&long[..], &short[..]]);
        assert_eq!(content(&long, OCTET_STRING).unwrap(), &[7; 300][..]);
    }

    #[test]
    fn truncated_elements_are_rejected() {
        let long = tlv(OCTET_STRING, &[7; 300]);
        assert!(elements(&long[..long.len() - 1]).is_err());
        assert!(elements(&[0x30]).is_err());
        assert!(elements(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_err());
        assert!(content(&long, SEQUENCE).is_err());
    }

    #[test]
    fn names_keep_repeated_attributes_in_order() {
        let der = name(&[(ORGANIZATION, "b"), (ORGANIZATION, "a"), (COMMON_NAME, "u")]);
        let (_, parsed) = x509_parser::x509::X509Name::from_der(&der).unwrap();
        let values: Vec<_> = parsed
            .iter_attributes()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(values, ["b", "a", "u"]);
        assert_eq!(parsed.iter_organization().count(), 2);
    }
}
