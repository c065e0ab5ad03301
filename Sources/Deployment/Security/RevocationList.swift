import Crypto
import Foundation
import SwiftASN1
import X509

/// The deployment's certificate revocation list: a real X.509 v2 CRL (RFC 5280 §5), signed
/// by the CA with ECDSA P-256/SHA-256, kept as DIR/crl.pem (PEM label `X509 CRL`), so
/// `openssl crl -in crl.pem -CAfile ca.pem -noout` verifies it too.
///
/// It lists revoked certificates by serial number, with when each was revoked. The CRL carries
/// a CRL number (one more with each revocation) and the CA's key identifier; `nextUpdate` is a
/// year after `thisUpdate`. The coordinator reads it at every TLS handshake, so a revocation
/// takes effect at the client's next connection, without restarting `serve`.
public struct RevocationList: Sendable, Equatable {
    /// One revoked certificate.
    public struct Entry: Sendable, Equatable {
        public var serial: Certificate.SerialNumber
        public var revokedAt: Date
    }

    public var issuer: DistinguishedName
    public var thisUpdate: Date
    public var nextUpdate: Date?
    /// Increases by one with every list the CA signs (RFC 5280 §5.2.3).
    public var number: Int
    public var entries: [Entry]

    public init(issuer: DistinguishedName, thisUpdate: Date, nextUpdate: Date?, number: Int, entries: [Entry]) {
        self.issuer = issuer; self.thisUpdate = thisUpdate; self.nextUpdate = nextUpdate; self.number = number; self.entries = entries
    }

    /// The entry for `serial`, if that certificate is revoked.
    public func entry(for serial: Certificate.SerialNumber) -> Entry? {
        entries.first { $0.serial == serial }
    }

    /// Serial numbers as colon-separated hex, as `openssl` prints them.
    public static func hex(_ serial: Certificate.SerialNumber) -> String {
        serial.bytes.map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]
    static let pemLabel = "X509 CRL"

    // MARK: Writing

    /// The list signed by `authority`, as PEM.
    func signedPEM(by authority: CertificateAuthority) throws -> String {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(1)  // v2
            try Self.serializeAlgorithm(&c)
            try c.serialize(issuer)
            try c.serialize(try Self.utcTime(thisUpdate))
            if let nextUpdate { try c.serialize(try Self.utcTime(nextUpdate)) }
            if !entries.isEmpty {
                try c.appendConstructedNode(identifier: .sequence) { c in
                    for e in entries {
                        try c.appendConstructedNode(identifier: .sequence) { c in
                            try c.serialize(e.serial.bytes)
                            try c.serialize(try Self.utcTime(e.revokedAt))
                        }
                    }
                }
            }
            var number = DER.Serializer()
            try number.serialize(self.number)
            let extensions = [
                try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: CertificateAuthority.keyIdentifier(authority.key.publicKey)),
                                          critical: false),
                Certificate.Extension(oid: Self.crlNumberOID, critical: false, value: number.serializedBytes[...]),
            ]
            try c.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { c in
                try c.appendConstructedNode(identifier: .sequence) { c in
                    for e in extensions { try c.serialize(e) }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try authority.key.signature(for: tbsBytes)
        var whole = DER.Serializer()
        try whole.appendConstructedNode(identifier: .sequence) { c in
            c.serializeRawBytes(tbsBytes)
            try Self.serializeAlgorithm(&c)
            try c.serialize(ASN1BitString(bytes: ArraySlice(signature.derRepresentation)))
        }
        return PEMDocument(type: Self.pemLabel, derBytes: whole.serializedBytes).pemString
    }

    private static func serializeAlgorithm(_ c: inout DER.Serializer) throws {
        try c.appendConstructedNode(identifier: .sequence) { c in try c.serialize(ecdsaWithSHA256) }
    }

    static func utcTime(_ date: Date) throws -> UTCTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let d = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return try UTCTime(year: d.year!, month: d.month!, day: d.day!, hours: d.hour!, minutes: d.minute!, seconds: d.second!)
    }

    // MARK: Reading

    /// Parses `pem` and checks that `authority` signed it.
    /// - Throws: `DeploymentError.badCredentials` naming `file` when the list cannot be read,
    ///   was signed by another key or names another issuer.
    public init(pem: String, file: String, verifiedBy authority: Certificate) throws {
        func bad(_ why: String) -> DeploymentError {
            .badCredentials("\(file): \(why); write a new one with `fedpilot certs revoke`")
        }
        let document: PEMDocument
        do { document = try PEMDocument(pemString: pem) } catch { throw bad("not a PEM revocation list") }
        guard document.discriminator == Self.pemLabel else { throw bad("holds a \(document.discriminator), not an X509 CRL") }
        var tbsBytes = ArraySlice<UInt8>()
        var signatureBytes = ArraySlice<UInt8>()
        var parsed: RevocationList
        do {
            let root = try DER.parse(document.derBytes)
            parsed = try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbs = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no TBSCertList") }
                tbsBytes = tbs.encodedBytes
                let algorithm = try DER.sequence(nodes.next() ?? tbs, identifier: .sequence) { n in try ASN1ObjectIdentifier(derEncoded: &n) }
                guard algorithm == Self.ecdsaWithSHA256 else { throw bad("is signed with \(algorithm), not ECDSA with SHA-256") }
                signatureBytes = try ASN1BitString(derEncoded: &nodes).bytes
                return try Self.parseTBS(tbs)
            }
        } catch let e as DeploymentError { throw e } catch { throw bad("not a readable X.509 CRL (\(error))") }
        guard let key = P256.Signing.PublicKey(authority.publicKey),
              let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes),
              key.isValidSignature(signature, for: Data(tbsBytes)) else {
            throw bad("its signature does not verify with the CA in ca.pem (altered, or signed by another CA)")
        }
        guard parsed.issuer == authority.subject else { throw bad("names issuer \(parsed.issuer), not this CA") }
        parsed.entries.sort { $0.revokedAt < $1.revokedAt }
        self = parsed
    }

    private static func parseTBS(_ node: ASN1Node) throws -> RevocationList {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard version == 1 else { throw ASN1Error.invalidASN1Object(reason: "CRL version \(version + 1), expected 2") }
            _ = nodes.next()  // the signature algorithm, repeated
            guard let issuerNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no issuer") }
            let issuer = try DistinguishedName(derEncoded: issuerNode)
            let thisUpdate = try time(nodes.next())
            var nextUpdate: Date?
            var peek = nodes
            if let n = peek.next(), n.identifier == UTCTime.defaultIdentifier || n.identifier == GeneralizedTime.defaultIdentifier {
                nextUpdate = try time(n)
                nodes = peek
            }
            var entries: [Entry] = []
            peek = nodes
            if let n = peek.next(), n.identifier == .sequence {
                nodes = peek
                guard case .constructed(let children) = n.content else { throw ASN1Error.invalidASN1Object(reason: "revokedCertificates") }
                for child in children {
                    entries.append(try DER.sequence(child, identifier: .sequence) { e in
                        let serial = try ArraySlice<UInt8>(derEncoded: &e)
                        let at = try time(e.next())
                        while e.next() != nil {}  // entry extensions are not used
                        return Entry(serial: Certificate.SerialNumber(bytes: serial), revokedAt: at)
                    })
                }
            }
            var number = 0
            if let extensions = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific, { n in
                try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: n)
            }) {
                if let e = extensions.first(where: { $0.oid == crlNumberOID }) {
                    number = try Int(derEncoded: try DER.parse(e.value))
                }
            }
            return RevocationList(issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate, number: number, entries: entries)
        }
    }

    private static func time(_ node: ASN1Node?) throws -> Date {
        guard let node else { throw ASN1Error.invalidASN1Object(reason: "missing time") }
        let c: DateComponents
        if node.identifier == UTCTime.defaultIdentifier {
            let t = try UTCTime(derEncoded: node)
            c = DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
        } else {
            let t = try GeneralizedTime(derEncoded: node)
            c = DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: c) else { throw ASN1Error.invalidASN1Object(reason: "bad time") }
        return date
    }
}
