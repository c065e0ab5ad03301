extension Alert {
    /// An alert raised outside the engine (by a network transport, for example).
    public static func make(round: Int, client: String?, severity: Severity, reason: String) -> Alert {
        Alert(round: round, client: client, severity: severity, reason: reason)
    }
}
