from toolforge.cli.main import main

main()
