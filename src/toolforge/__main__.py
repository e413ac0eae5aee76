from toolforge.cli.app import main

main()
