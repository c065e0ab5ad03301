// SecureAggregation: SecAgg+ (Bell et al. 2020, on Bonawitz et al. 2017). The coordinator learns
// only the sum of the surviving clients' updates, even when clients drop out mid-round.
//
// One round, n clients with ids 0..<n, messages as value types with byte encodings
// (`encoded()` / `init(encoded:)`); the coordinator only relays them:
//
//   server = SecAggServer(config:)                     config = SecAggConfig(round:, dimension:,
//   client = SecAggClient(id:, config:)                  parameters: SecAggParameters.choose(...),
//                                                        graphSeed:, clipBound:)
//   1. client.advertiseKeys()          -> server.receive(_:)      ; server.closeAdvertiseKeys() -> [KeyDirectory]
//   2. client.shareKeys(directory)     -> server.receive(_:)      ; server.closeShareKeys()     -> [ShareRelay]
//   3. client.maskedInput(relay, update: PlainUpdate, roundingSeed:)
//                                      -> server.receive(_:)      ; server.closeMaskedInput()   -> UnmaskRequest
//   4. client.unmask(request)          -> server.receive(_:)      ; server.finish()             -> AggregateSum
//
// `close…` is the coordinator's deadline for a phase: whoever has not answered by then has
// dropped. `SecAggSimulation.run` drives a whole round in process (tests, `fedpilot secagg bench`).
//
// Types keep plaintext on the client side: `PlainUpdate` and `QuantizedUpdate` appear only in
// `SecAggClient`; `SecAggServer` takes messages and `MaskedVector`s (summed on arrival) and
// returns an `AggregateSum`.
//
// Cryptography (swift-crypto): X25519 key agreement (two fresh key pairs per client per round: one
// for encrypting shares, one for pairwise masks), HKDF-SHA256 with info binding purpose, round and
// client ids, ChaCha20-Poly1305 for shares (associated data: round, sender, recipient), Shamir
// t-of-k over GF(2^61 − 1) (32-byte secrets as five chunks), SHA-256 commitments to self-mask
// seeds, and ChaCha20 keystreams (BoringSSL's SIMD implementation, via CryptoExtras'
// `Insecure.ChaCha20CTR`) as the mask PRG into Z_{2^32}.
//
// Threat model: honest-but-curious server, clients that may drop at any point; with
// `corruptFraction` > 0 the parameter choice also covers a fraction of clients colluding with the
// server. Not covered: a server that substitutes public keys or lies inconsistently to different
// clients (no PKI, no signatures: Bonawitz et al.'s active-security variant adds a signed
// consistency round), Sybil clients simulated by the server, and malicious clients sending
// out-of-range masked inputs (SecAgg gives privacy, not integrity; only sum-based aggregation
// works on its output).
