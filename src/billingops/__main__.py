from billingops.cli import main

main()
