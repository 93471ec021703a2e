// Placeholder translation unit until the client library lands.
namespace kbo::server {
int Placeholder() { return 0; }
}  // namespace kbo::server
