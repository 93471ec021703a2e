// Placeholder translation unit until the client library lands.
namespace kbo::client {
int Placeholder() { return 0; }
}  // namespace kbo::client
