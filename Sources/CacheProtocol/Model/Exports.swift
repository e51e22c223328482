/// The storage types of K/V elements (`KVStorageType`, `BFloat16`, `KVRowEncoding`) are part of
/// this module's API: importing it imports them.
@_exported import KVStorage
