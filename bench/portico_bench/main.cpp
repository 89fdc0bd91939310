// portico-bench: WebSocket load generator for Portico plugins (see --help).
#include "bench_options.hpp"
#include "bench_run.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    auto parsed = portico::bench::parse_bench_options(argc, argv);
    if (parsed.help) {
        std::cout << portico::bench::bench_usage();
        return 0;
    }
    if (!parsed.error.empty()) {
        std::cerr << "portico-bench: " << parsed.error << "\n";
        return 2;
    }
    portico::bench::BenchRun run(std::move(parsed.options));
    return run.run();
}
