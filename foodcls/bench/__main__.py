from foodcls.bench.cli import main

main()
