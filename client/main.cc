#include "client/cli/cli.h"

int main(int argc, char** argv) { return kbo::client::RunCli(argc, argv); }
