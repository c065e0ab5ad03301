import Crypto
import Foundation
import SwiftASN1
import X509

/// A deployment's own certificate authority: a P-256 key and a self-signed certificate that
/// issue the coordinator's server certificate and one client certificate per client. Files are
/// PEM, laid out by `TLSDirectory`.
public struct CertificateAuthority {
    public let certificate: Certificate
    let key: P256.Signing.PrivateKey

    /// How long a new CA is valid unless told otherwise (`certs init --days`).
    public static let defaultCADays = 3650
    /// How long a new client or server certificate is valid unless told otherwise (`certs issue --days`).
    public static let defaultLeafDays = 365

    /// Creates a new CA valid for `days` days from `now`.
    public static func create(name: String = "FedPilot deployment CA", days: Int = defaultCADays, now: Date = Date()) throws -> CertificateAuthority {
        try checkDays(days)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("FedPilot")
            CommonName(name)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(keyIdentifier: keyIdentifier(key.publicKey))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(key))
        return CertificateAuthority(certificate: certificate, key: key)
    }

    /// Loads a CA from its PEM certificate and key.
    public init(certificatePEM: String, keyPEM: String) throws {
        certificate = try Certificate(pemEncoded: certificatePEM)
        key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw DeploymentError.badCredentials("the CA key does not belong to the CA certificate")
        }
    }

    init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// What a certificate is for.
    public enum Role: Sendable, Equatable {
        /// A client; `name` must be its id in the scenario.
        case client(name: String)
        /// The coordinator, reached at `host` (a DNS name or an IP address).
        case server(host: String)
    }

    /// Issues a certificate valid for `days` days from `now` (never beyond the CA's own expiry)
    /// with a fresh P-256 key; returns both.
    public func issue(_ role: Role, days: Int = defaultLeafDays, now: Date = Date()) throws -> (certificate: Certificate, key: P256.Signing.PrivateKey) {
        try Self.checkDays(days)
        let leafKey = P256.Signing.PrivateKey()
        let commonName: String
        let usage: ExtendedKeyUsage.Usage
        let alternativeName: GeneralName
        switch role {
        case .client(let name):
            try Self.checkName(name)
            commonName = name
            usage = .clientAuth
            alternativeName = .dnsName(name)
        case .server(let host):
            try Self.checkName(host)
            commonName = host
            usage = .serverAuth
            if let ip = IPAddressBytes(host) { alternativeName = .ipAddress(ASN1OctetString(contentBytes: ip.bytes[...])) } else {
                alternativeName = .dnsName(host)
            }
        }
        let subject = try DistinguishedName {
            OrganizationName("FedPilot")
            CommonName(commonName)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([usage])
            SubjectAlternativeNames([alternativeName])
            SubjectKeyIdentifier(keyIdentifier: Self.keyIdentifier(leafKey.publicKey))
            AuthorityKeyIdentifier(keyIdentifier: Self.keyIdentifier(key.publicKey))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: min(now.addingTimeInterval(Double(days) * 86_400), certificate.notValidAfter),
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(key))
        return (certificate, leafKey)
    }

    /// A validity period must be at least a day and at most 100 years.
    static func checkDays(_ days: Int) throws {
        guard (1...36_500).contains(days) else {
            throw DeploymentError.badCredentials("--days \(days) is out of range: give a validity period of 1 to 36500 days")
        }
    }

    /// Names go into file names and certificates: letters, digits, '.', '-', '_' only.
    static func checkName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy(allowed.contains), !name.hasPrefix(".") else {
            throw DeploymentError.badCredentials("'\(name)' is not a usable name: use 1-64 letters, digits, '.', '-', '_'")
        }
    }

    /// SHA-1 of the public key, the customary key identifier (RFC 5280 §4.2.1.2).
    static func keyIdentifier(_ key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
    }

    var keyPEM: String { key.pemRepresentation }
}

/// The bytes of a dotted IPv4 or a colon IPv6 address, for an IP subject alternative name.
struct IPAddressBytes {
    var bytes: [UInt8]
    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }
}

extension Certificate {
    /// The subject's common name, if it has one.
    public var commonName: String? {
        for rdn in subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let s = String(attribute.value) { return s }
            }
        }
        return nil
    }
}
