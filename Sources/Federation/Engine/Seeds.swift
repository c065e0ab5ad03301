/// Every seed the engine derives from another: `base &+ index &* multiplier`, with one
/// multiplier per purpose. The multipliers are those each derivation has always used, so a
/// scenario's seed gives the same run as before they were gathered here.
public enum Seeds {
    public enum Purpose: Sendable {
        /// The coordinator's random stream of round `index` (availability, sampling, link losses,
        /// the secure-aggregation graph), from the scenario's seed.
        case round
        /// The training seed of client `index` (its position in the scenario), from the scenario's seed.
        case clientTraining
        /// The train/validation split of client `index`, from the scenario's seed.
        case dataSplit
        /// The text faults of round `index`, from the client's training seed.
        case dataFaults
        /// The batch order and dropout of round `index`, from the client's training seed.
        case localTraining
        /// Variant `index` of a scenario in the alert bench, from the scenario's seed.
        case benchVariant

        var multiplier: UInt64 {
            switch self {
            case .round: return 0x2545_F491
            case .clientTraining, .benchVariant: return 7919
            case .dataSplit, .dataFaults: return 1
            case .localTraining: return 0x2545_F491_4F6C_DD1D
            }
        }
    }

    /// The seed for `purpose` number `index` (a round, a client's position, a variant) from `base`.
    public static func derive(_ base: UInt64, purpose: Purpose, index: Int) -> UInt64 {
        base &+ UInt64(index) &* purpose.multiplier
    }
}
