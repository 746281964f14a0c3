/// The version of mapwarden (the command and the library it ships with).
/// The Makefile reads it from here for mapwarden.pc.
enum Version {
    static let string = "0.3.0"
}
