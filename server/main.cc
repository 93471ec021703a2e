#include "server/cli.h"

int main(int argc, char** argv) { return kbo::server::RunCli(argc, argv); }
